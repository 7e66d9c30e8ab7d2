import {
  test, expect, uniqueEmail, hydrated, signUp, screenshot, callApi, domainRow as row, openSso, openSsoSection, addDomain, pressVerify, recordValue,
  pageShownAgain,
} from './helpers';
import { publishTxt } from './dns';

test.beforeEach(async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
});

test('an owner adds a domain, publishes the TXT record and verifies it; another account cannot', async ({ page, browser }) => {
  const domain = `acme-${Date.now().toString(36)}.example`;
  await signUp(page, uniqueEmail('owner'));
  await openSso(page);
  await openSsoSection(page, 'Domains');
  await expect(page.locator('#no-domains')).toContainText('No domains yet');
  await screenshot(page, 'sso-empty');

  // Bad input is explained next to the field and nothing is added.
  await page.getByLabel('Domain', { exact: true }).fill('co.uk');
  await page.getByRole('button', { name: 'Add domain' }).click();
  await expect(page.locator('[data-error-for="domain"]')).toContainText('co.uk is a public suffix');
  await page.getByLabel('Domain', { exact: true }).fill('https://example.com');
  await page.getByRole('button', { name: 'Add domain' }).click();
  await expect(page.locator('[data-error-for="domain"]')).toContainText('Enter the domain only');
  await expect(page.locator('#no-domains')).toBeVisible();

  await addDomain(page, domain, `  ${domain.toUpperCase()}. `);
  const ours = row(page, domain);
  await expect(ours.locator('.badge').first()).toHaveText('Pending');
  const value = await recordValue(page, domain);
  expect(value).toMatch(/^gatehouse-verification=[A-Za-z0-9_-]{43}$/);
  await expect(ours).toContainText('@');
  await expect(ours).toContainText('TXT');

  // The same domain twice is refused with a message.
  await page.getByLabel('Domain', { exact: true }).fill(domain);
  await page.getByRole('button', { name: 'Add domain' }).click();
  await expect(page.locator('[data-error-for="domain"]')).toHaveText(`${domain} is already in this account's list.`);

  // Verify before the record exists: the reason is saved and shown.
  await pressVerify(page, domain);
  await expect(row(page, domain).locator('.badge').first()).toHaveText('Failed');
  await expect(row(page, domain)).toContainText(`The domain ${domain} does not exist (NXDOMAIN).`);

  // A record that is there but wrong.
  await publishTxt(domain, ['v=spf1 -all', 'gatehouse-verification=not-this-one']);
  await pressVerify(page, domain);
  await expect(row(page, domain)).toContainText(`Found 2 TXT records at ${domain}; none matches`);
  await screenshot(page, 'sso-failed');

  // The owner publishes the value shown and verifies.
  await publishTxt(domain, ['v=spf1 -all', value]);
  await pressVerify(page, domain);
  await expect(row(page, domain).locator('.badge').first()).toHaveText('Active');
  await expect(row(page, domain).locator('.reason')).toHaveCount(0);
  await expect(row(page, domain)).toContainText('Next check');
  await screenshot(page, 'sso-active');

  // A second account claims the same domain: it may add it, but cannot verify it.
  const rivalContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const rival = await rivalContext.newPage();
  const rivalErrors: string[] = [];
  rival.on('pageerror', (e) => rivalErrors.push(String(e)));
  await signUp(rival, uniqueEmail('rival'));
  await openSso(rival);
  await openSsoSection(rival, 'Domains');
  await addDomain(rival, domain);
  await expect(row(rival, domain)).toContainText('Verified by another account');
  await expect(row(rival, domain).getByRole('button', { name: 'Verify' })).toBeDisabled();
  // Even with its own record published, the server refuses the rival's verification.
  const rivalValue = await recordValue(rival, domain);
  await publishTxt(domain, ['v=spf1 -all', value, rivalValue]);
  const domainId = (await row(rival, domain).getByLabel('Value').getAttribute('id'))!.replace('record-', '');
  const accountId = new URL(rival.url()).pathname.split('/')[2];
  const answer = await callApi(rival, '/api/domains/verify', { account_id: accountId, domain_id: domainId });
  expect(answer.status).toBe(200);
  expect(answer.body.status).toBe('failed');
  expect(answer.body.verified_elsewhere).toBe(true);
  await rival.reload();
  await hydrated(rival);
  const theirs = row(rival, domain);
  await expect(theirs.locator('.badge').first()).toHaveText('Failed');
  await expect(theirs).toContainText(`${domain} is already verified by another account`);
  await screenshot(rival, 'sso-claimed-elsewhere');
  expect(rivalErrors).toEqual([]);
  await rivalContext.close();

  // The owner removes the domain (after confirming): it is gone from the table.
  await page.reload();
  await hydrated(page);
  await row(page, domain).getByText('Remove', { exact: true }).click();
  const shownAgain = await pageShownAgain(page);
  await row(page, domain).getByRole('button', { name: 'Yes, remove' }).click();
  await shownAgain();
  await expect(row(page, domain)).toHaveCount(0);
});

test('the Verify button shows progress while DNS is asked', async ({ page }) => {
  const domain = `slow-${Date.now().toString(36)}.example`;
  await signUp(page, uniqueEmail('owner'));
  await openSso(page);
  await openSsoSection(page, 'Domains');
  await addDomain(page, domain);
  // Hold the answer back so the in-progress state is visible.
  await page.route('**/api/domains/verify', async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 800));
    await route.continue();
  });
  const shownAgain = await pageShownAgain(page);
  await row(page, domain).getByRole('button', { name: 'Verify' }).click();
  await expect(row(page, domain).getByRole('button', { name: 'Checking DNS…' })).toBeDisabled();
  await shownAgain();
});
