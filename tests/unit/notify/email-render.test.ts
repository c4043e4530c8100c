import { describe, expect, it } from "vitest";
import { MAX_EMAIL_LIST_ITEMS, renderEmail } from "../../../src/notify/email-render.ts";
import { EVENT_TYPES, type NotifyEvent } from "../../../src/notify/events.ts";
import { sampleEvent } from "../../../src/notify/samples.ts";

describe("notify/email-render", () => {
  describe("renderEmail", () => {
    it.each(EVENT_TYPES)("renders a subject, a text body and an HTML body for %s", (type) => {
      const email = renderEmail(sampleEvent(type, "staging"));
      expect(email.subject).toMatch(/^\[hbsync staging\] \S/);
      expect(email.text).toContain("Environment:");
      expect(email.html).toContain("<th");
      expect(email.html).toContain("staging");
    });

    it("puts the facts of a sync summary in both bodies", () => {
      const email = renderEmail(sampleEvent("sync_summary", "prod"));
      expect(email.subject).toBe("[hbsync prod] Sync partial on prod: 37 new bottles");
      expect(email.text).toContain("Transferred: 1.8 GiB");
      expect(email.text).toContain("  - bottles/llvm-19.1.6.arm64_sequoia.bottle.tar.gz: sha256 differs");
      expect(email.html).toContain("<td>25184 bottles, 384 GiB</td>");
    });

    it("escapes values in the HTML body", () => {
      const event: NotifyEvent = {
        type: "deployment_failure",
        environment: "dev",
        error: `<script>alert("x")</script> & 'y'`,
      };
      const { html, text } = renderEmail(event);
      expect(html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;");
      expect(html).not.toContain("<script>");
      expect(text).toContain(`<script>alert("x")</script>`);
    });

    it("caps a long list with a count", () => {
      const failedTests = Array.from({ length: MAX_EMAIL_LIST_ITEMS + 25 }, (_, i) => `test ${i}`);
      const event = { ...sampleEvent("test_results"), failedTests } as NotifyEvent;
      const { text, html } = renderEmail(event);
      expect(text).toContain("…and 25 more");
      expect(html).toContain("…and 25 more");
      expect(text).not.toContain(`test ${MAX_EMAIL_LIST_ITEMS}\n`);
    });

    it("keeps the subject on one line", () => {
      const event = {
        ...sampleEvent("deployment_success"),
        version: "v1\r\nBcc: x@evil.test",
      } as NotifyEvent;
      expect(renderEmail(event).subject).not.toMatch(/[\r\n]/);
    });
  });
});
