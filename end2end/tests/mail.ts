import { existsSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

/** The Maildir the loopback SMTP server (aiosmtpd, started by playwright.config.ts) delivers the server's mail into. */
const inbox = join(process.env.GATEHOUSE_E2E_DIR ?? '.', 'mail', 'new');

/**
 * Waits for a mail to `to` carrying a link that starts with `prefix`, as its reader would find it in their inbox;
 * removes it (so a later look finds only newer mail) and answers the link.
 */
export async function takeLink(to: string, prefix: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    for (const name of existsSync(inbox) ? readdirSync(inbox) : []) {
      const path = join(inbox, name);
      // Bodies are quoted-printable: undo the soft line breaks so links read whole.
      const text = readFileSync(path, 'utf8').replace(/=\r?\n/g, '');
      const addressed = text.split(/\r?\n/).some((line) => line.toLowerCase() === `to: ${to.toLowerCase()}`);
      const link = text.split(/\s+/).find((word) => word.startsWith(prefix));
      if (addressed && link) {
        unlinkSync(path);
        return link;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no mail to ${to} with a link starting ${prefix}`);
}
