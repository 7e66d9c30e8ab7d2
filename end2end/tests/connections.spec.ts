import { Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, expect, uniqueEmail, hydrated, signUp, screenshot, shotDir, domainRow } from './helpers';

const fixtures = join(__dirname, '..', '..', '..', 'shared', 'fixtures', 'idp-metadata');

test.beforeEach(async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
});

async function openSso(page: Page) {
  await page.getByRole('link', { name: 'SSO' }).click();
  await hydrated(page);
}

async function submitAndReload(page: Page, button: string) {
  const reloaded = page.waitForEvent('load');
  await page.getByRole('button', { name: button }).click();
  await reloaded;
  await hydrated(page);
}

/** The Base64 body of the first X509Certificate in a fixture, as an owner would copy it from the IdP console. */
function certificateOf(file: string): string {
  const xml = readFileSync(join(fixtures, file), 'utf8');
  return xml.split('X509Certificate>')[1].split('</')[0].replace(/\s+/g, '');
}

test('an owner connects an IdP by metadata file and by hand, and sees what to enter at the IdP', async ({ page, baseURL }) => {
  await signUp(page, uniqueEmail('owner'));
  await openSso(page);
  await expect(page.locator('#no-connections')).toContainText('No identity provider connected yet');

  // A file that is not metadata is refused next to the field, and nothing is added.
  await page.getByLabel('Name', { exact: true }).first().fill('Okta');
  await page.getByLabel('or paste the XML').fill('<html><body>Sign in</body></html>');
  await page.getByRole('button', { name: 'Import metadata' }).click();
  await expect(page.locator('#add-connection [data-error-for="metadata"]')).toContainText('This is not SAML 2.0 metadata');
  await expect(page.locator('#no-connections')).toBeVisible();

  // The real Okta export, uploaded as a file.
  await page.getByLabel('or paste the XML').fill('');
  await page.getByLabel('Metadata file (.xml)').setInputFiles(join(fixtures, 'okta.metadata.xml'));
  await submitAndReload(page, 'Import metadata');
  const okta = page.getByRole('article', { name: 'Okta' });
  await expect(okta).toContainText('http://www.okta.com/exkdoocxa1VmjpXmX697');
  await expect(okta).toContainText('From IdP metadata');
  await expect(okta.locator('.certificate')).toContainText('trial-1022863');
  await expect(okta.locator('.certificate')).toContainText('RSA 2048 bits');
  const acs = await okta.getByLabel('Reply URL (Assertion Consumer Service, HTTP-POST)').inputValue();
  expect(acs).toMatch(new RegExp(`^${baseURL}/saml/[0-9a-f-]{36}/acs$`));
  await okta.getByRole('button', { name: 'Copy' }).nth(1).click();
  await expect(okta.getByRole('button', { name: 'Copied' })).toBeVisible();

  // Role mappings: groups = Gatehouse Admins → Admin; everyone else keeps the default, No access.
  await expect(okta.getByLabel('Everyone else gets')).toHaveValue('no_access');
  await okta.getByLabel('Rule 1 attribute name').fill('groups');
  await okta.getByLabel('Rule 1 value').fill('Gatehouse Admins');
  await okta.getByLabel('Rule 1 role').selectOption('admin');
  await okta.getByLabel('Rule 2 attribute name').fill('groups');
  await okta.getByRole('button', { name: 'Save role mappings' }).click();
  await expect(okta.locator('[data-error-for="rules"]')).toHaveText('Row 2: enter the attribute value that gives the role.');
  await okta.getByLabel('Rule 2 value').fill('Everyone');
  await okta.getByLabel('Enforce role mapping on every sign-in').check();
  await submitAndReload(page, 'Save role mappings');
  const saved = page.getByRole('article', { name: 'Okta' });
  await expect(saved.getByLabel('Rule 1 value')).toHaveValue('Gatehouse Admins');
  await expect(saved.getByLabel('Rule 1 role')).toHaveValue('admin');
  await expect(saved.getByLabel('Rule 2 role')).toHaveValue('viewer');
  await expect(saved.getByLabel('Rule 5 attribute name')).toHaveValue('');
  await expect(saved.getByLabel('Enforce role mapping on every sign-in')).toBeChecked();
  await saved.screenshot({ path: `${shotDir}/connection-card.png` });

  // A domain's users are routed to this connection from the Domains table.
  const domain = `route-${Date.now().toString(36)}.example`;
  await page.getByLabel('Domain', { exact: true }).fill(domain);
  await submitAndReload(page, 'Add domain');
  const routing = domainRow(page, domain);
  await expect(routing.getByLabel(`Sign-in for ${domain}`).locator('option:checked')).toHaveText('Password (no SSO)');
  await routing.getByLabel(`Sign-in for ${domain}`).selectOption({ label: 'Okta' });
  const routed = page.waitForEvent('load');
  await routing.getByRole('button', { name: 'Save', exact: true }).click();
  await routed;
  await hydrated(page);
  await expect(domainRow(page, domain).getByLabel(`Sign-in for ${domain}`).locator('option:checked')).toHaveText('Okta');

  // Google Workspace, typed in by hand with its certificate pasted as Base64.
  await page.locator('#manual-label').fill('Google Workspace');
  await page.getByLabel('IdP Entity ID (issuer)').fill('https://accounts.google.com/o/saml2?idpid=C029op2ga');
  await page.getByLabel('Single sign-on URL').fill('not a url');
  await page.getByLabel('Signing certificate (Base64 or PEM; several allowed)').fill(certificateOf('google.metadata.xml'));
  // The browser's own check stops a malformed URL before it is sent.
  await page.getByRole('button', { name: 'Save connection' }).click();
  await expect(page.getByRole('article', { name: 'Google Workspace' })).toHaveCount(0);
  await page.getByLabel('Single sign-on URL').fill('https://accounts.google.com/o/saml2/idp?idpid=C029op2ga');
  await submitAndReload(page, 'Save connection');
  const google = page.getByRole('article', { name: 'Google Workspace' });
  await expect(google).toContainText('Entered by hand');
  await expect(google.locator('.certificate')).toContainText('Google');
  await screenshot(page, 'sso-connections');

  // Removing asks first, then the connection is gone.
  await google.getByText('Remove', { exact: true }).click();
  const reloaded = page.waitForEvent('load');
  await google.getByRole('button', { name: 'Yes, remove' }).click();
  await reloaded;
  await expect(page.getByRole('article', { name: 'Google Workspace' })).toHaveCount(0);
  await expect(page.getByRole('article', { name: 'Okta' })).toBeVisible();
});
