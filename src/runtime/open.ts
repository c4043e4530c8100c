import { HomebrewApiClient } from "../homebrew/api-client.ts";
import { loadTrustedKey, parsePublicKeyPem } from "../homebrew/keys.ts";
import { RegistryClient } from "../homebrew/registry-client.ts";
import type { IndexSource } from "../mirror/prepare.ts";
import type { BlobSource, ManifestSource } from "../mirror/transfer.ts";
import { notificationManagerFromEnv } from "../notify/index.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import { openStore } from "../storage/open.ts";
import type { BaseConfig, Env } from "./env.ts";
import type { Notifier } from "./events.ts";

/** What every function opens once per container (reused across warm invocations). */
export interface RuntimeResources {
  store: BlobStore;
  api: IndexSource;
  registry: BlobSource & ManifestSource;
  notifier: Notifier;
}

/**
 * The mirror bucket, the upstream clients (trusted key: Homebrew's builtin homebrew-1.pem unless
 * TRUSTED_KEY names a PEM file or holds PEM text) and the NotificationManager (Slack webhook from
 * SLACK_WEBHOOK_SECRET_ARN; email over SES when EMAIL_ENABLED, unless SMTP_URL is set).
 */
export async function openResources(config: BaseConfig, env: Env = process.env): Promise<RuntimeResources> {
  const store = await openStore(config.dest);
  // Not mirror/setup.ts's upstreamClients: it pulls the YAML config loader into every bundle.
  const { trustedKey } = config.upstream;
  const key = trustedKey.includes("-----BEGIN")
    ? parsePublicKeyPem(trustedKey, "TRUSTED_KEY")
    : await loadTrustedKey(trustedKey);
  const api = new HomebrewApiClient({ apiBase: config.upstream.api, trustedKey: key });
  const registry = new RegistryClient({ registryBase: config.upstream.registry });
  const notifyEnv: NodeJS.ProcessEnv = { ...env };
  if (!notifyEnv.SMTP_URL && !notifyEnv.NOTIFY_EMAIL_TRANSPORT) notifyEnv.NOTIFY_EMAIL_TRANSPORT = "ses";
  const notifier = await notificationManagerFromEnv(config.notify, notifyEnv);
  return { store, api, registry, notifier };
}

/** Caches a per-container promise, forgetting it when it rejects (the next invocation tries again). */
export function once<T>(open: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= open().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}
