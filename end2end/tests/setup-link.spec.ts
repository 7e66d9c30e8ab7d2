import {
  test, expect, uniqueEmail, hydrated, signUp, screenshot, openSso, submitAndReload, addDomain, pressVerify, recordValue,
  callApi, gotoSsoSection,
} from './helpers';
import { publishTxt } from './dns';
import { takeLink } from './mail';
import { idpAdmin, idpPort, idpTrustsSp, idpUser, signInAtIdp } from './idp';

// The Owner creates the link; the IT admin, in a browser with no Gatehouse account, verifies a domain, connects the
// IdP and runs Test SSO through it.
test.setTimeout(120_000);

test('the owner hands the SSO set-up to their IT admin, who has no account, with a setup link', async ({ page, browser }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  const owner = uniqueEmail('owner');
  await signUp(page, owner);
  const accountId = new URL(page.url()).pathname.split('/')[2];
  const origin = new URL(page.url()).origin;
  await openSso(page);

  // The Owner creates the link; its address is shown once, with a copy button.
  const panel = page.locator('#setup-links');
  await expect(panel.getByLabel('Works for')).toHaveValue('7');
  await panel.getByLabel('For whom').fill('Acme IT');
  await panel.getByRole('button', { name: 'Create setup link' }).click();
  const field = panel.locator('#setup-link-url');
  await expect(field).toBeVisible();
  const link = await field.inputValue();
  expect(link).toMatch(new RegExp(`^${origin}/setup/[A-Za-z0-9_-]{43}$`));
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await panel.getByRole('button', { name: 'Copy' }).click();
  await expect(panel.getByRole('button', { name: 'Copied' })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(link);
  await panel.scrollIntoViewIfNeeded();
  await screenshot(page, 'setup-links-created');

  // The IT admin, in a browser with no Gatehouse account.
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const it = await context.newPage();
  const errors: string[] = [];
  it.on('pageerror', (e) => errors.push(String(e)));
  await it.goto(link);
  await hydrated(it);
  await expect(it.getByRole('heading', { level: 2 })).toContainText('Set up single sign-on for');
  await expect(it.locator('main')).toContainText(owner);
  await screenshot(it, 'setup-link-start');
  await it.getByRole('button', { name: 'Start set-up' }).click();
  await expect(it).toHaveURL(/\/setup$/);
  await hydrated(it);
  await expect(it.locator('.switcher')).toHaveCount(0);
  await expect(it.locator('.topbar')).toContainText('Setup link: Acme IT');

  // The guided setup, its last step handing over to the Owner instead of turning SSO on.
  const setup = it.locator('#sso-setup');
  await expect(setup.getByRole('heading', { name: 'Step 1 of 4: Add your domain' })).toBeVisible();
  await expect(setup.locator('.setup-steps li').last()).toContainText('Hand over to the Owner');
  await expect(setup).toContainText(`then tell ${owner}, who turns single sign-on on`);

  // 1: a domain, verified on the loopback DNS server; the setup moves on to step 2.
  const domain = `corp-${Date.now().toString(36)}.example`;
  await addDomain(it, domain);
  await publishTxt(domain, [await recordValue(it, domain)]);
  await pressVerify(it, domain);
  await expect(setup.getByRole('heading', { name: 'Step 2 of 4: Connect your identity provider' })).toBeVisible();

  // 2: the test IdP, connected by its metadata URL (named after it: no name asked).
  await it.getByLabel('Another SAML 2.0 IdP').check();
  await expect(setup.locator('.idp-guide-other')).toBeVisible();
  await it.getByLabel('Metadata URL', { exact: true }).fill(`${idpAdmin}/metadata`);
  await it.getByLabel('Monitor metadata URL').uncheck();
  await submitAndReload(it, 'Import from URL');
  await expect(setup.getByRole('heading', { name: 'Step 3 of 4: Test single sign-on' })).toBeVisible();

  // Step 2 again: with no connection pages of their own, the link's holder sees the connection in full there,
  // to replace its settings; the IdP is given Gatehouse's SP metadata from it.
  await setup.getByRole('link', { name: /Connect your identity provider/ }).click();
  const card = it.getByRole('article', { name: 'localhost' });
  await expect(card).toContainText(`http://localhost:${idpPort}/metadata`);
  await idpTrustsSp(it, await card.getByLabel('SP metadata URL').inputValue());
  // Looking after connections beyond trust (mappings, keys, removal) is not the link's.
  await expect(card.getByRole('button', { name: 'Save role mappings' })).toHaveCount(0);
  await expect(card.getByRole('button', { name: 'Link my sign-in' })).toHaveCount(0);
  await expect(card.getByRole('heading', { name: 'Edit or replace the IdP settings' })).toBeVisible();
  // The only connection took the Active domain nobody routed yet (step 1 shows the routing).
  await setup.getByRole('link', { name: /Add your domain/ }).click();
  await expect(it.getByLabel(`Sign-in for ${domain}`)).toHaveValue(/[0-9a-f-]{36}/);

  // 3: Test SSO as the IT admin at the IdP; the browser comes back to the set-up, now at its last step.
  await setup.getByRole('link', { name: /Test single sign-on/ }).click();
  const tester = `it-admin@${domain}`;
  await idpUser(tester, { groups: ['everyone'] });
  await setup.getByRole('link', { name: 'Test SSO with localhost' }).click();
  await signInAtIdp(it, tester);
  await expect(it).toHaveURL(/\/setup$/);
  await hydrated(it);
  await expect(setup.getByRole('heading', { name: 'Step 4 of 4: Hand over to the Owner' })).toBeVisible();
  await expect(setup.locator('.last-test.passed')).toContainText(tester);
  await screenshot(it, 'setup-link-work');

  // 4: hand over.
  await submitAndReload(it, "I'm done");
  await expect(it.locator('#finished')).toContainText(`You told ${owner} the set-up is done`);
  await expect(setup.locator('.setup-steps li').last()).toHaveAttribute('data-state', 'current');

  // Members, the policy, the settings and another account stay closed.
  for (const path of [`/accounts/${accountId}`, `/accounts/${accountId}/members`, `/accounts/${accountId}/sso`, `/accounts/${accountId}/settings`]) {
    const response = await it.goto(path);
    expect([403, 404], path).toContain(response?.status());
  }
  await expect(it.locator('main')).not.toContainText(owner);
  const refused = [
    await callApi(it, '/api/accounts/members', { account_id: accountId }),
    await callApi(it, '/api/sso/update-policy', { account_id: accountId, sso_enabled: 'true', enforce_sso: 'true' }),
    await callApi(it, '/api/accounts/rename', { account_id: accountId, name: 'Taken' }),
    await callApi(it, '/api/setup-links/create', { account_id: accountId, name: 'More', lifetime_days: '30' }),
  ];
  expect(refused.map((r) => r.status)).toEqual([403, 403, 403, 403]);
  const elsewhere = await callApi(it, '/api/domains/list', { account_id: '00000000-0000-4000-8000-000000000000' });
  expect(elsewhere.status).toBe(404);
  expect(errors).toEqual([]);
  await context.close();

  // The Owner is told by mail, and reads what was done in the audit log, under the link's name.
  const review = await takeLink(owner, `${origin}/accounts/`);
  expect(review).toBe(`${origin}/accounts/${accountId}/sso`);
  await gotoSsoSection(page, 'audit');
  const audit = page.locator('#audit-log');
  const via = `via setup link Acme IT created by ${owner}`;
  for (const action of ['Setup link opened', 'Domain added', 'Connection added', 'Test SSO started', 'SSO set-up finished']) {
    await expect(audit.locator('tr', { hasText: action }).first()).toContainText(via);
  }
  await gotoSsoSection(page, '');
  const row = page.locator('#setup-link-table tr[data-link="Acme IT"]');
  await expect(row).toContainText('Done');
  await expect(page.locator('#sso-policy .badge').first()).toHaveText('Off');

  // Revoked, the link opens nothing more.
  await row.getByText('Revoke', { exact: true }).click();
  await submitAndReload(page, row.getByRole('button', { name: 'Yes, revoke' }));
  await expect(page.locator('#setup-link-table tr[data-link="Acme IT"]')).toContainText('Revoked');
  await page.locator('#setup-links').scrollIntoViewIfNeeded();
  await screenshot(page, 'setup-links');
  const again = await page.request.get(link);
  expect(again.status()).toBe(409);
});
