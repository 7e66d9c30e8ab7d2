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

/** Opens the account's SSO tab (its Overview) from any of its pages. */
export async function openSso(page: Page) {
  await page.getByRole('link', { name: 'SSO', exact: true }).click();
  await expect(page).toHaveURL(/\/accounts\/[0-9a-f-]{36}\/sso$/);
  await hydrated(page);
}

export type SsoSection = 'Overview' | 'Guided setup' | 'Domains' | 'Identity providers' | 'SSO events' | 'Audit log';

/** The SSO tab's own navigation. */
export function ssoNav(page: Page) {
  return page.getByRole('navigation', { name: 'Single sign-on sections' });
}

/** Opens a section of the SSO tab from its navigation, as a user does. */
export async function openSsoSection(page: Page, section: SsoSection) {
  await ssoNav(page).getByRole('link', { name: section, exact: true }).click();
  await expect(ssoNav(page).getByRole('link', { name: section, exact: true })).toHaveAttribute('aria-current', 'page');
  await hydrated(page);
}

/** The address of the account's SSO tab (or one of its sections: `domains`, `events` …) from any account page. */
export function ssoUrl(page: Page, section = '') {
  const account = page.url().match(/^.*\/accounts\/[0-9a-f-]{36}/)![0];
  return `${account}/sso${section ? `/${section}` : ''}`;
}

/** Goes to a section of the SSO tab by its address (as after a reload, or from a bookmark). */
export async function gotoSsoSection(page: Page, section: string) {
  await page.goto(ssoUrl(page, section));
  await hydrated(page);
}

/** From the Identity providers section, opens the page of the connection named `name`; answers its card. */
export async function openConnection(page: Page, name: string) {
  await page.locator('#connection-table').getByRole('link', { name, exact: true }).click();
  await expect(page).toHaveURL(/\/sso\/connections\/[0-9a-f-]{36}$/);
  await hydrated(page);
  return page.getByRole('article', { name });
}

/** Reads the account's audit log in its section, then comes back to the page that was open. */
export async function expectInAuditLog(page: Page, text: string) {
  const back = page.url();
  await gotoSsoSection(page, 'audit');
  await expect(page.locator('#audit-log')).toContainText(text);
  await page.goto(back);
  await hydrated(page);
}

/**
 * Call before pressing a button whose form shows the page again; answers a wait for that: the page shown anew
 * (in place, as a hydrated page does after a saved form, or as a new document) with its islands hydrated.
 */
export async function pageShownAgain(page: Page): Promise<() => Promise<void>> {
  await page.locator('main').evaluate((main) => main.setAttribute('data-shown-before', ''));
  return async () => {
    await page.waitForFunction(() => !document.querySelector('main[data-shown-before]'));
    await hydrated(page);
  };
}

/** Presses a form's button and waits for the page to show again with the saved state. */
export async function submitAndReload(page: Page, button: string | Locator) {
  const shownAgain = await pageShownAgain(page);
  await (typeof button === 'string' ? page.getByRole('button', { name: button }) : button).click();
  await shownAgain();
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

/** On the Domains section: adds `domain`, publishes its record on the test DNS server and verifies it. */
export async function verifiedDomain(page: Page, domain: string) {
  await addDomain(page, domain);
  await publishTxt(domain, [await recordValue(page, domain)]);
  await pressVerify(page, domain);
  await expect(domainRow(page, domain).locator('.badge').first()).toHaveText('Active');
}
