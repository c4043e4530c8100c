import { describe, expect, it } from "vitest";
import { createRedactor, redact, secretsOfUrl } from "../../../src/notify/redact.ts";

describe("notify/redact", () => {
  describe("redact", () => {
    it("keeps a Slack webhook's host and masks its path", () => {
      const text =
        "posting to https://hooks.slack.com/services/T0ABCDEF1/B0ABCDEF2/abcdefABCDEF123456 failed";
      expect(redact(text)).toBe("posting to https://hooks.slack.com/*** failed");
    });

    it("masks a webhook-shaped path on any host", () => {
      expect(redact("http://127.0.0.1:4000/services/T0AAAA/B0BBBB/zzzzzzzzzz")).toBe(
        "http://127.0.0.1:4000/services/***",
      );
    });

    it("masks the password of a URL but keeps the user and host", () => {
      expect(redact("connect smtps://mailer:hunter2-secret@smtp.example.com:465 failed")).toBe(
        "connect smtps://mailer:***@smtp.example.com:465 failed",
      );
    });

    it("masks Slack, GitHub and AWS credentials", () => {
      const text = [
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
        "AKIAIOSFODNN7EXAMPLE",
        "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.signature",
      ].join("\n");
      const result = redact(text);
      for (const secret of [
        "AbCdEfGhIjKlMnOpQrStUvWx",
        "abcdefghijklmnopqrstuvwxyz0123456789",
        "abcdefghijklmnopqrstuvwxyz",
        "IOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI",
        "eyJhbGciOiJIUzI1NiJ9",
      ]) {
        expect(result).not.toContain(secret);
      }
      expect(result).toContain("xoxb-***");
      expect(result).toContain("AKIA***");
    });

    it("leaves ordinary text alone", () => {
      const text = "synced 12 bottles to s3://mirror/bottles in 3m 2s (Bearer QQ==)";
      expect(redact(text)).toBe(text);
    });

    it("masks literal secrets it is given, also percent-encoded", () => {
      expect(redact("pass=p@ss w0rd! and p%40ss%20w0rd!", ["p@ss w0rd!"])).toBe("pass=*** and ***");
    });
  });

  describe("secretsOfUrl", () => {
    it("returns the path of a webhook URL and the password of an SMTP URL", () => {
      expect(secretsOfUrl("https://proxy.example.com/hook/abc123?token=zzz")).toEqual([
        "/hook/abc123?token=zzz",
      ]);
      expect(secretsOfUrl("smtp://u:p%40ssword@host:25")).toEqual(["p%40ssword", "p@ssword"]);
    });
  });

  describe("createRedactor", () => {
    it("prints a known webhook URL as its origin and a masked path", () => {
      const url = "https://relay.example.com/notify/8f3a9c2b7d";
      const redactor = createRedactor(secretsOfUrl(url));
      expect(redactor(`failed: ${url}`)).toBe("failed: https://relay.example.com/***");
    });
  });
});
