import { expect, Locator, Page, test as base } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { publishTxt } from './dns';
import { takeLink } from './mail';

/** Every test fails on an uncaught page error: that is what a broken WASM build or hydration looks like. */
export const test = base.extend<{ pageErrors: string[] }>({
  pageErrors: [
    async ({ page }, use) => {
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await use(errors);
      expect(errors, 'uncaught errors in the page').toEqual([]);
    },
    { auto: true },
  ],
});
export { expect };

export const PASSWORD = 'correct horse battery staple';

let counter = 0;
/** A fresh address per call, so tests never collide in the shared database. */
export function uniqueEmail(name: string): string {
  counter += 1;
  return `${name}.${Date.now().toString(36)}${counter}@acme.example`;
}

/** Waits until the WASM has hydrated the page, so clicks go to the client-side handlers. */
export async function hydrated(page: Page) {
  await page.waitForFunction(() => document.body.hasAttribute('data-hydrated'), null, { timeout: 15_000 });
}

export async function signUp(page: Page, email: string, password = PASSWORD) {
  await page.goto('/sign-up');
  await hydrated(page);
  await page.getByLabel('Work email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/confirm-email\?next=/);
  await confirmEmail(page, email);
  // A new account opens on its guided SSO setup.
  await expect(page).toHaveURL(/\/accounts\/[0-9a-f-]{36}\/sso\/setup$/);
}

/** Follows the proof link mailed to `email`, as its user would from their inbox, in this browser. */
export async function confirmEmail(page: Page, email: string) {
  const origin = new URL(page.url()).origin;
  await page.goto(await takeLink(email, `${origin}/confirm-email/`));
  await hydrated(page);
  await page.getByRole('button', { name: 'Confirm my address' }).click();
}

export async function signIn(page: Page, email: string, password = PASSWORD) {
  await page.goto('/sign-in');
  await hydrated(page);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

export async function signOut(page: Page) {
  await hydrated(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
}

export const shotDir = process.env.GATEHOUSE_SCREENSHOTS ?? 'test-results/screenshots';

/** Full-page screenshots at laptop and phone widths, for looking at what was built. */
/** Takes the page's screenshots at laptop and phone widths, and checks it for accessibility at each. */
export async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: `${shotDir}/${name}-laptop.png`, fullPage: true });
  await expectAccessible(page, `${name} (laptop)`);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: `${shotDir}/${name}-phone.png`, fullPage: true });
  await expectAccessible(page, `${name} (phone)`);
  await page.setViewportSize({ width: 1280, height: 800 });
}

const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** Runs axe-core (WCAG 2.x A and AA rules and best practices) on the page: no serious or critical violation. */
export async function expectAccessible(page: Page, name: string) {
  if (!(await page.evaluate(() => 'axe' in window))) {
    await page.addScriptTag({ content: axeSource });
  }
  const violations = await page.evaluate(async () => {
    type Result = { id: string; impact: string; help: string; nodes: { target: string[] }[] };
    const axe = (window as unknown as { axe: { run: (context: Document) => Promise<{ violations: Result[] }> } }).axe;
    const { violations } = await axe.run(document);
    return violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join(', ')})`);
  });
  expect(violations, `accessibility of ${name}`).toEqual([]);
}

/** Calls a server function from the page, as its scripts do (same origin, session cookie); answers status and JSON. */
export async function callApi(page: Page, path: string, form: Record<string, string>) {
  return page.evaluate(
    async ([url, fields]) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { Accept: 'application/json' },
        body: new URLSearchParams(fields),
      });
      return { status: response.status, body: await response.json() };
    },
    [path, form] as const,
  );
}

/** The Domains table's row of `domain`. */
export function domainRow(page: Page, domain: string) {
  return page.locator(`#domain-${domain.replaceAll('.', '\\.')}`);
}

/** Opens the account's SSO tab from any of its pages. */
export async function openSso(page: Page) {
  await page.getByRole('link', { name: 'SSO' }).click();
  await expect(page).toHaveURL(/\/accounts\/[0-9a-f-]{36}\/sso$/);
  await hydrated(page);
}

/** Presses a form's button and waits for the page to reload with the saved state. */
export async function submitAndReload(page: Page, button: string | Locator) {
  const reloaded = page.waitForEvent('load');
  await (typeof button === 'string' ? page.getByRole('button', { name: button }) : button).click();
  await reloaded;
  await hydrated(page);
}

/** Adds `typed` as the owner would type it; the table then shows it normalised as `domain`. */
export async function addDomain(page: Page, domain: string, typed = domain) {
  await page.getByLabel('Domain', { exact: true }).fill(typed);
  await submitAndReload(page, 'Add domain');
  await expect(domainRow(page, domain)).toBeVisible();
}

export async function pressVerify(page: Page, domain: string) {
  await submitAndReload(page, domainRow(page, domain).getByRole('button', { name: 'Verify' }));
}

/** The TXT record value Gatehouse asks the owner to publish for `domain`. */
export async function recordValue(page: Page, domain: string): Promise<string> {
  return domainRow(page, domain).getByLabel('Value').inputValue();
}

/** On the SSO tab: adds `domain`, publishes its record on the test DNS server and verifies it. */
export async function verifiedDomain(page: Page, domain: string) {
  await addDomain(page, domain);
  await publishTxt(domain, [await recordValue(page, domain)]);
  await pressVerify(page, domain);
  await expect(domainRow(page, domain).locator('.badge').first()).toHaveText('Active');
}
