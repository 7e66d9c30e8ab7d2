import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Page } from '@playwright/test';
import {
  test, expect, uniqueEmail, hydrated, signUp, screenshot, callApi, openSso, openSsoSection, openConnection, ssoNav, ssoUrl,
  SsoSection,
} from './helpers';
import { publishTxt } from './dns';

test.beforeEach(async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
});
// Several pages, each photographed and checked at two widths.
test.setTimeout(90_000);

const sections: [SsoSection, string, RegExp][] = [
  ['Overview', 'overview', /\/sso$/],
  ['Guided setup', 'setup', /\/sso\/setup$/],
  ['Domains', 'domains', /\/sso\/domains$/],
  ['Identity providers', 'connections', /\/sso\/connections$/],
  ['SSO events', 'events', /\/sso\/events$/],
  ['Audit log', 'audit', /\/sso\/audit$/],
];

/** About two laptop screens: a section longer than that is split or folded. */
const MAX_HEIGHT = 1600;

async function pageHeight(page: Page) {
  return page.evaluate(() => document.documentElement.scrollHeight);
}

/** An owner with what most accounts have: one IdP connected and one domain verified (and so routed to it). */
async function typicalAccount(page: Page) {
  await signUp(page, uniqueEmail('owner'));
  const accountId = new URL(page.url()).pathname.split('/')[2];
  const okta = readFileSync(join(__dirname, '..', '..', 'testkit', 'fixtures', 'idp-metadata', 'okta.metadata.xml'), 'utf8');
  expect((await callApi(page, '/api/sso/import-metadata', { account_id: accountId, label: 'Okta', metadata: okta })).status).toBe(200);
  const domain = `sections-${Date.now().toString(36)}.example`;
  const added = await callApi(page, '/api/domains/add', { account_id: accountId, domain });
  expect(added.status).toBe(200);
  await publishTxt(domain, [added.body.record_value]);
  const verified = await callApi(page, '/api/domains/verify', { account_id: accountId, domain_id: added.body.id });
  expect(verified.body.status).toBe('active');
  return { accountId, domain };
}

test('each SSO section has its own address, fits two laptop screens, and reads well on a phone', async ({ page }) => {
  const { domain } = await typicalAccount(page);
  await openSso(page);

  // The Overview sums up the other sections and links to them.
  const status = page.locator('#sso-status');
  await expect(status).toContainText('1 domain, 1 Active.');
  await expect(status).toContainText('1 connected: Okta.');
  await expect(status).toContainText('No one has signed in through SSO yet.');
  await expect(status.getByRole('link', { name: 'Domains' })).toHaveAttribute('href', /\/sso\/domains$/);

  for (const [name, slug, address] of sections) {
    await openSsoSection(page, name);
    await expect(page).toHaveURL(address);
    await expect(ssoNav(page).locator('[aria-current="page"]')).toHaveText(name);
    expect(await pageHeight(page), `height of ${name}`).toBeLessThanOrEqual(MAX_HEIGHT);
    await screenshot(page, `sso-section-${slug}`);
  }
  await expect(page.locator('#audit-log')).toContainText(domain);

  // A connection's own page: everything of it, the long parts folded.
  await openSsoSection(page, 'Identity providers');
  const okta = await openConnection(page, 'Okta');
  await expect(okta.getByLabel('Reply URL (Assertion Consumer Service, HTTP-POST)')).toHaveValue(/\/saml\/[0-9a-f-]{36}\/acs$/);
  await expect(ssoNav(page).locator('[aria-current="page"]')).toHaveText('Identity providers');
  expect(await pageHeight(page), 'height of the connection page').toBeLessThanOrEqual(MAX_HEIGHT);
  await screenshot(page, 'sso-section-connection');

  // At phone width nothing is wider than the screen: the section links wrap.
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [, slug] of sections) {
    await page.goto(ssoUrl(page, slug === 'overview' ? '' : slug));
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width, `width of ${slug} on a phone`).toBeLessThanOrEqual(390);
    for (const [name] of sections) {
      await expect(ssoNav(page).getByRole('link', { name, exact: true })).toBeInViewport();
    }
  }
});

test('the section navigation works from the keyboard', async ({ page }) => {
  await signUp(page, uniqueEmail('owner'));
  await openSso(page);
  const nav = ssoNav(page);
  // From the top of the page, Tab reaches the section links after the account's tabs.
  let presses = 0;
  while (!(await nav.getByRole('link', { name: 'Overview', exact: true }).evaluate((link) => link === document.activeElement))) {
    await page.keyboard.press('Tab');
    presses += 1;
    expect(presses, 'Tab presses to reach the section navigation').toBeLessThan(20);
  }
  for (const [name, , address] of sections.slice(1)) {
    await page.keyboard.press('Tab');
    await expect(nav.getByRole('link', { name, exact: true })).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(page).toHaveURL(address);
    await hydrated(page);
    await expect(nav.getByRole('link', { name, exact: true })).toHaveAttribute('aria-current', 'page');
    // Continue from where the keyboard user now is: on the current section's link.
    await nav.getByRole('link', { name, exact: true }).focus();
  }
});

test('a viewer sees no audit sections, and an unknown connection is not found inside the frame', async ({ page, browser }) => {
  const { accountId } = await typicalAccount(page);

  const missing = await page.goto(`/accounts/${accountId}/sso/connections/00000000-0000-4000-8000-000000000000`);
  expect(missing?.status()).toBe(404);
  await expect(page.locator('#connection-not-found')).toContainText('No such identity provider');
  await expect(ssoNav(page).locator('[aria-current="page"]')).toHaveText('Identity providers');
  await screenshot(page, 'sso-connection-not-found');

  const viewerEmail = uniqueEmail('viewer');
  const invitation = await callApi(page, '/api/accounts/invite', { account_id: accountId, email: viewerEmail, role: 'viewer' });
  const token = String(invitation.body.link).split('/').pop()!;
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const viewer = await context.newPage();
  await signUp(viewer, viewerEmail);
  expect((await callApi(viewer, '/api/invitations/accept', { token })).status).toBe(200);
  await viewer.goto(`/accounts/${accountId}/sso`);
  await hydrated(viewer);
  await expect(ssoNav(viewer).getByRole('link')).toHaveText(['Overview', 'Domains', 'Identity providers']);
  await expect(viewer.locator('#sso-status')).not.toContainText('SSO events');
  for (const section of ['audit', 'events']) {
    const refused = await viewer.goto(`/accounts/${accountId}/sso/${section}`);
    expect(refused?.status()).toBe(403);
    await expect(viewer.locator('#section-not-allowed')).toContainText('Not available for your role');
  }
  await context.close();
});
