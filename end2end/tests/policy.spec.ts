import {
  test, expect, uniqueEmail, hydrated, signUp, screenshot, callApi, submitAndReload, openSso, openSsoSection, gotoSsoSection, ssoNav,
  domainRow, verifiedDomain,
} from './helpers';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

test.beforeEach(async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
});

test('the owner sets the sign-in policy, the audit log records it, and an admin is refused the switches', async ({ page, browser }) => {
  await signUp(page, uniqueEmail('owner'));
  const accountId = new URL(page.url()).pathname.split('/')[2];
  await openSso(page);
  const policy = page.locator('#sso-policy');
  await expect(policy.locator('.badge')).toHaveText('Off');
  await expect(policy.getByRole('list', { name: 'What SSO needs' })).toContainText('At least one Active domain');
  await expect(policy.getByRole('list', { name: 'What SSO needs' })).toContainText('An Active domain routed to it');

  // SSO cannot go on before a domain is verified and an IdP connected; the reason shows next to the switch.
  await policy.getByLabel('SSO enabled').check();
  await policy.getByRole('button', { name: 'Save sign-in policy' }).click();
  await expect(policy.locator('[data-error-for="sso_enabled"]')).toHaveText(
    'SSO cannot be turned on yet: verify at least one domain and connect an identity provider.',
  );

  // The enforcement switches wait for SSO, saying why; the server still keeps what is saved.
  await expect(policy.getByLabel('Enforce SSO')).toBeDisabled();
  await expect(policy.getByLabel('No separate account')).toBeDisabled();
  await expect(policy.locator('#enforcement-locked')).toHaveText(
    'Enforce SSO and No separate account can be changed once SSO can be turned on (see the list above).',
  );
  await expect(policy.locator('#who-signs-in-where')).toHaveText('Everyone signs in with a password.');
  const saved = await callApi(page, '/api/sso/update-policy', { account_id: accountId, no_separate_account: 'true' });
  expect(saved.status).toBe(200);
  await page.reload();
  await hydrated(page);
  await expect(page.locator('#sso-policy').getByLabel('No separate account')).toBeChecked();
  // Saving the form with the switch locked keeps the saved value rather than clearing it.
  await submitAndReload(page, 'Save sign-in policy');
  await expect(page.locator('#sso-policy').getByLabel('No separate account')).toBeChecked();
  await screenshot(page, 'sso-policy');
  await openSsoSection(page, 'Audit log');
  await expect(page.locator('#audit-log')).toContainText('No separate account: off → on');
  await expect(page.locator('#audit-log')).not.toContainText('No separate account: on → off');

  // An admin, invited and signed in in a browser of their own, sees the policy but not the switches.
  const adminEmail = uniqueEmail('admin');
  const invitation = await callApi(page, '/api/accounts/invite', { account_id: accountId, email: adminEmail, role: 'admin' });
  expect(invitation.status).toBe(200);
  const token = String(invitation.body.link).split('/').pop()!;
  const adminContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const admin = await adminContext.newPage();
  await signUp(admin, adminEmail);
  expect((await callApi(admin, '/api/invitations/accept', { token })).status).toBe(200);
  await admin.goto(`/accounts/${accountId}/sso`);
  await expect(admin.locator('#policy-owner-only')).toBeVisible();
  await expect(admin.getByRole('button', { name: 'Save sign-in policy' })).toHaveCount(0);
  await expect(ssoNav(admin).getByRole('link')).toHaveText(['Overview', 'Guided setup', 'Domains', 'Identity providers', 'SSO events', 'Audit log']);
  await openSsoSection(admin, 'Audit log');
  await expect(admin.locator('#audit-log')).toContainText('No separate account: off → on');
  const refused = await callApi(admin, '/api/sso/update-policy', { account_id: accountId, sso_enabled: 'true' });
  expect(refused.status).toBe(403);
  await adminContext.close();
});

test("with one IdP the owner's Verify routes the domain to it; an admin's leaves it routed nowhere and flagged", async ({ page, browser }) => {
  const ownerEmail = uniqueEmail('owner');
  await signUp(page, ownerEmail);
  const accountId = new URL(page.url()).pathname.split('/')[2];
  const okta = readFileSync(join(__dirname, '..', '..', 'testkit', 'fixtures', 'idp-metadata', 'okta.metadata.xml'), 'utf8');
  const imported = await callApi(page, '/api/sso/import-metadata', { account_id: accountId, label: 'Okta', metadata: okta });
  expect(imported.status).toBe(200);
  await openSso(page);
  await openSsoSection(page, 'Domains');

  const stamp = Date.now().toString(36);
  const ownersDomain = `owner-${stamp}.example`;
  await verifiedDomain(page, ownersDomain);
  await expect(domainRow(page, ownersDomain).getByLabel(`Sign-in for ${ownersDomain}`).locator('option:checked')).toHaveText('Okta');
  await expect(domainRow(page, ownersDomain).locator('.routed-nowhere')).toHaveCount(0);

  const adminEmail = uniqueEmail('admin');
  const invitation = await callApi(page, '/api/accounts/invite', { account_id: accountId, email: adminEmail, role: 'admin' });
  const token = String(invitation.body.link).split('/').pop()!;
  const adminContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const admin = await adminContext.newPage();
  await signUp(admin, adminEmail);
  expect((await callApi(admin, '/api/invitations/accept', { token })).status).toBe(200);
  await admin.goto(`/accounts/${accountId}/sso/domains`);
  await hydrated(admin);
  const adminsDomain = `admin-${stamp}.example`;
  await verifiedDomain(admin, adminsDomain);
  await expect(domainRow(admin, adminsDomain)).toContainText('Signs in with: Password (no SSO)');
  await expect(domainRow(admin, adminsDomain).locator('.routed-nowhere')).toHaveText(
    "Routed nowhere: people at this domain sign in with a password. The account's Owner can route it to an identity provider.",
  );
  await adminContext.close();

  await page.reload();
  await hydrated(page);
  await expect(domainRow(page, adminsDomain).locator('.routed-nowhere')).toHaveText(
    'Routed nowhere: people at this domain sign in with a password. Choose an identity provider.',
  );
  await openSsoSection(page, 'Overview');
  const whoWhere = page.locator('#who-signs-in-where');
  await expect(whoWhere).toContainText(`People at ${ownersDomain} sign in with a password; through Okta once SSO is on.`);
  await expect(whoWhere).toContainText(`People at ${adminsDomain} sign in with a password: the domain is routed nowhere.`);
  await expect(page.locator('#sso-policy').getByLabel('Enforce SSO')).toBeEnabled();
  await screenshot(page, 'sso-default-routing');
  await gotoSsoSection(page, 'audit');
  await expect(page.locator('#audit-log')).toContainText(`${ownersDomain} → Okta (automatically: verified by the Owner`);
});
