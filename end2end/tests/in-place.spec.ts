import { Page } from '@playwright/test';
import {
  test, expect, uniqueEmail, signUp, screenshot, shotDir, callApi, domainRow as row, openSso, openSsoSection,
  addDomain, pageShownAgain,
} from './helpers';

/** Marks the document, so that a reload (a new document) shows as the mark being gone. */
async function markDocument(page: Page) {
  await page.evaluate(() => { (window as unknown as { __marker: number }).__marker = 1; });
}

async function documentMark(page: Page) {
  return page.evaluate(() => (window as unknown as { __marker?: number }).__marker);
}

test('a saved form shows the page again in place: the same document, hydrated again, the focus and scroll kept', async ({ page }) => {
  // A phone's screen, so the table scrolls.
  await page.setViewportSize({ width: 390, height: 844 });
  await signUp(page, uniqueEmail('owner'));
  await openSso(page);
  await openSsoSection(page, 'Domains');
  const title = await page.title();
  await markDocument(page);
  const loads: string[] = [];
  page.on('load', () => loads.push(page.url()));

  // Added from the keyboard: the new domain shows, and the cursor is back in the (empty) field for the next one.
  const domain = `inplace-${Date.now().toString(36)}.example`;
  const field = page.getByLabel('Domain', { exact: true });
  await field.fill(domain);
  let shownAgain = await pageShownAgain(page);
  await field.press('Enter');
  await shownAgain();
  await expect(row(page, domain).locator('.badge').first()).toHaveText('Pending');
  expect(await documentMark(page)).toBe(1);
  await expect(field).toBeFocused();
  await expect(field).toHaveValue('');
  await expect(page).toHaveTitle(title);

  // A form of the new content works through the WebAssembly too (its island was hydrated), and the page keeps its
  // scroll position and the focus on the button pressed.
  const verify = row(page, domain).getByRole('button', { name: 'Verify' });
  await verify.scrollIntoViewIfNeeded();
  const scrolled = await page.evaluate(() => window.scrollY);
  expect(scrolled).toBeGreaterThan(0);
  shownAgain = await pageShownAgain(page);
  await verify.click();
  await shownAgain();
  await expect(row(page, domain).locator('.badge').first()).toHaveText('Failed');
  expect(await documentMark(page)).toBe(1);
  expect(await page.evaluate(() => window.scrollY)).toBe(scrolled);
  await expect(verify).toBeFocused();
  // What the user sees right then: the same stretch of the page, the button still focused.
  await page.screenshot({ path: `${shotDir}/in-place-verified-viewport.png` });
  await screenshot(page, 'in-place-verified');

  // The domain removed, its form is gone with it: the focus goes to the page's heading.
  await row(page, domain).getByText('Remove', { exact: true }).click();
  shownAgain = await pageShownAgain(page);
  await row(page, domain).getByRole('button', { name: 'Yes, remove' }).click();
  await shownAgain();
  await expect(row(page, domain)).toHaveCount(0);
  await expect(page.locator('#no-domains')).toBeVisible();
  await expect(page.locator('h1')).toBeFocused();
  expect(await documentMark(page)).toBe(1);
  expect(loads).toEqual([]);
});

test('a page that cannot be fetched after a saved form is reloaded; one that redirects is followed', async ({ page }) => {
  await signUp(page, uniqueEmail('owner'));
  await openSso(page);
  await openSsoSection(page, 'Domains');
  const domains = page.url();
  const isRefresh = (request: { resourceType(): string; method(): string; url(): string }) =>
    request.resourceType() === 'fetch' && request.method() === 'GET' && request.url() === domains;

  // The server fails to render the page: the browser reloads it as a whole, which shows the change.
  await markDocument(page);
  await page.route(domains, (route) => (isRefresh(route.request()) ? route.fulfill({ status: 500 }) : route.continue()));
  const domain = `reloaded-${Date.now().toString(36)}.example`;
  await page.getByLabel('Domain', { exact: true }).fill(domain);
  const reloaded = page.waitForEvent('load');
  await page.getByRole('button', { name: 'Add domain' }).click();
  await reloaded;
  await expect(row(page, domain)).toBeVisible();
  expect(await documentMark(page)).toBeUndefined();
  await page.unroute(domains);

  // The server sends the browser elsewhere (to sign in, when the session ended): it goes there.
  const elsewhere = domains.replace(/\/sso\/domains$/, '/members');
  await page.route(domains, (route) =>
    isRefresh(route.request()) ? route.fulfill({ status: 302, headers: { location: elsewhere } }) : route.continue());
  await page.getByLabel('Domain', { exact: true }).fill(`redirected-${Date.now().toString(36)}.example`);
  await page.getByRole('button', { name: 'Add domain' }).click();
  await expect(page).toHaveURL(elsewhere);
});

test('the domain watcher shows the page again once when a status changes, and the page it replaced stops asking', async ({ page }) => {
  test.setTimeout(90_000);
  await signUp(page, uniqueEmail('owner'));
  const setupUrl = page.url();
  const accountId = new URL(setupUrl).pathname.split('/')[2];
  const domain = `watched-${Date.now().toString(36)}.example`;
  await addDomain(page, domain);
  // The step shown again in place has a watcher for the new domain (its island was hydrated).
  await expect(page.getByRole('status').filter({ hasText: 'shows the result by itself' })).toBeVisible();
  const field = page.getByLabel('Domain', { exact: true });
  await field.focus();
  await markDocument(page);
  let refreshes = 0;
  let asked = 0;
  page.on('request', (request) => {
    if (request.resourceType() === 'fetch' && request.method() === 'GET' && request.url() === setupUrl) refreshes += 1;
    if (request.url().endsWith('/api/domains/list')) asked += 1;
  });

  // The status changes behind the page's back (a check without the record: Failed), and the page follows.
  const domainId = (await row(page, domain).getByLabel('Value').getAttribute('id'))!.replace('record-', '');
  const answer = await callApi(page, '/api/domains/verify', { account_id: accountId, domain_id: domainId });
  expect(answer.body.status).toBe('failed');
  await expect(row(page, domain).locator('.badge').first()).toHaveText('Failed', { timeout: 20_000 });
  expect(refreshes).toBe(1);
  expect(await documentMark(page)).toBe(1);
  // A background change does not move the cursor.
  await expect(field).toBeFocused();

  // Still waiting for its record, the domain is watched on; only the new page's watcher asks, and nothing changed.
  asked = 0;
  await page.waitForTimeout(20_000);
  expect(refreshes).toBe(1);
  expect(asked).toBeLessThanOrEqual(1);
  await expect(page.getByRole('status').filter({ hasText: 'shows the result by itself' })).toBeVisible();
});
