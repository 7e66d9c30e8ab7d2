import { test, expect, uniqueEmail, hydrated, signUp, screenshot, callApi } from './helpers';

test.beforeEach(async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
});

test('the owner sets the sign-in policy, the audit log records it, and an admin is refused the switches', async ({ page, browser }) => {
  await signUp(page, uniqueEmail('owner'));
  const accountId = new URL(page.url()).pathname.split('/')[2];
  await page.getByRole('link', { name: 'SSO' }).click();
  await hydrated(page);
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

  await policy.getByLabel('SSO enabled').uncheck();
  await policy.getByLabel('No separate account').check();
  const reloaded = page.waitForEvent('load');
  await policy.getByRole('button', { name: 'Save sign-in policy' }).click();
  await reloaded;
  await expect(page.locator('#sso-policy').getByLabel('No separate account')).toBeChecked();
  await expect(page.locator('#audit-log')).toContainText('No separate account: off → on');
  await screenshot(page, 'sso-policy');

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
  await expect(admin.locator('#audit-log')).toContainText('No separate account: off → on');
  const refused = await callApi(admin, '/api/sso/update-policy', { account_id: accountId, sso_enabled: 'true' });
  expect(refused.status).toBe(403);
  await adminContext.close();
});
