import { Locator, Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  test, expect, uniqueEmail, hydrated, signUp, screenshot, shotDir, domainRow, callApi, openSso, openSsoSection, openConnection,
  pageShownAgain,
  expectInAuditLog, submitAndReload,
} from './helpers';

const fixtures = join(__dirname, '..', '..', 'testkit', 'fixtures', 'idp-metadata');

test.beforeEach(async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
});

/** Opens one of a connection card's collapsed sections by its summary. */
async function openSection(card: Locator, name: string) {
  await card.locator('summary', { hasText: name }).click();
}

/** A self-signed certificate valid for `days` from now, as PEM, as an IdP makes its signing certificates. */
function certificateFor(days: number, name: string): string {
  return execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', '/dev/null', '-subj', `/CN=${name}`, '-days', String(days),
  ], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

/** The Base64 body of the first X509Certificate in a fixture, as an owner would copy it from the IdP console. */
function certificateOf(file: string): string {
  const xml = readFileSync(join(fixtures, file), 'utf8');
  return xml.split('X509Certificate>')[1].split('</')[0].replace(/\s+/g, '');
}

test('an owner connects an IdP by metadata file and by hand, and sees what to enter at the IdP', async ({ page, baseURL }) => {
  await signUp(page, uniqueEmail('owner'));
  await openSso(page);
  await openSsoSection(page, 'Identity providers');
  await expect(page.locator('#no-connections')).toContainText('No identity provider connected yet');

  // A file that is not metadata is refused next to the field, and nothing is added.
  const add = page.locator('#add-connection');
  await add.getByLabel('Name (optional)', { exact: true }).first().fill('Okta');
  await add.getByLabel('or paste the XML').fill('<html><body>Sign in</body></html>');
  await page.getByRole('button', { name: 'Import metadata' }).click();
  await expect(add.locator('form.metadata-file-form [data-error-for="metadata"]')).toContainText('This is an HTML web page, not SAML 2.0 metadata');
  await expect(page.locator('#no-connections')).toBeVisible();

  // The real Okta export, uploaded as a file.
  await add.getByLabel('or paste the XML').fill('');
  await add.getByLabel('Metadata file (.xml)').setInputFiles(join(fixtures, 'okta.metadata.xml'));
  await submitAndReload(page, 'Import metadata');
  // The list names it with its IdP, its state and its certificate's end; its page has everything else.
  const listed = page.locator('#connection-table tbody tr');
  await expect(listed).toHaveCount(1);
  await expect(listed).toContainText('http://www.okta.com/exkdoocxa1VmjpXmX697');
  await expect(listed.locator('.badge')).toHaveText('Ready');
  await expect(listed).toContainText('2034-04-25');
  const okta = await openConnection(page, 'Okta');
  await expect(okta).toContainText('http://www.okta.com/exkdoocxa1VmjpXmX697');
  await expect(okta).toContainText('From IdP metadata');
  await expect(okta.locator('.idp-certificates .certificate')).toContainText('trial-1022863');
  await expect(okta.locator('.idp-certificates .certificate')).toContainText('RSA 2048 bits');
  const acs = await okta.getByLabel('Reply URL (Assertion Consumer Service, HTTP-POST)').inputValue();
  expect(acs).toMatch(new RegExp(`^${baseURL}/saml/[0-9a-f-]{36}/acs$`));
  await okta.getByRole('button', { name: 'Copy' }).nth(1).click();
  await expect(okta.getByRole('button', { name: 'Copied' })).toBeVisible();

  // Role mappings: groups = Gatehouse Admins → Admin; everyone else keeps the default, No access.
  await expect(okta.locator('summary', { hasText: 'Role mappings' })).toContainText('no rules; everyone else: No access');
  await openSection(okta, 'Role mappings');
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
  await expect(saved.locator('summary', { hasText: 'Role mappings' })).toContainText('2 rules; everyone else: No access');
  await openSection(saved, 'Role mappings');
  await expect(saved.getByLabel('Rule 1 value')).toHaveValue('Gatehouse Admins');
  await expect(saved.getByLabel('Rule 1 role')).toHaveValue('admin');
  await expect(saved.getByLabel('Rule 2 role')).toHaveValue('viewer');
  await expect(saved.getByLabel('Rule 5 attribute name')).toHaveValue('');
  await expect(saved.getByLabel('Enforce role mapping on every sign-in')).toBeChecked();
  await saved.screenshot({ path: `${shotDir}/connection-card.png` });

  // A domain's users are routed to this connection from the Domains section.
  const domain = `route-${Date.now().toString(36)}.example`;
  await openSsoSection(page, 'Domains');
  await page.getByLabel('Domain', { exact: true }).fill(domain);
  await submitAndReload(page, 'Add domain');
  const routing = domainRow(page, domain);
  await expect(routing.getByLabel(`Sign-in for ${domain}`).locator('option:checked')).toHaveText('Password (no SSO)');
  await routing.getByLabel(`Sign-in for ${domain}`).selectOption({ label: 'Okta' });
  const routed = await pageShownAgain(page);
  await routing.getByRole('button', { name: 'Save', exact: true }).click();
  await routed();
  await expect(domainRow(page, domain).getByLabel(`Sign-in for ${domain}`).locator('option:checked')).toHaveText('Okta');

  // Google Workspace, typed in by hand with its certificate pasted as Base64.
  await openSsoSection(page, 'Identity providers');
  const addManual = page.locator('#add-connection');
  // Most IdPs offer metadata, so the typed-in form is folded until asked for.
  await expect(addManual.getByLabel('IdP Entity ID (issuer)')).toBeHidden();
  await addManual.getByText('Or enter the details by hand').click();
  await addManual.locator('#new-manual-label').fill('Google Workspace');
  await addManual.getByLabel('IdP Entity ID (issuer)').fill('https://accounts.google.com/o/saml2?idpid=C029op2ga');
  await addManual.getByLabel('Single sign-on URL').fill('not a url');
  await addManual.getByLabel('Signing certificate (Base64 or PEM; several allowed)').fill(certificateOf('google.metadata.xml'));
  // The browser's own check stops a malformed URL before it is sent.
  await page.getByRole('button', { name: 'Save connection' }).click();
  await expect(page.locator('#connection-table')).not.toContainText('Google Workspace');
  await addManual.getByLabel('Single sign-on URL').fill('https://accounts.google.com/o/saml2/idp?idpid=C029op2ga');
  await submitAndReload(page, 'Save connection');
  await expect(page.locator('#connection-table tbody tr')).toHaveCount(2);
  await screenshot(page, 'sso-connections');
  const google = await openConnection(page, 'Google Workspace');
  await expect(google).toContainText('Entered by hand');
  await expect(google.locator('.idp-certificates .certificate')).toContainText('Google');

  // Removing asks first, then the list shows the connection gone.
  await google.getByText('Remove', { exact: true }).click();
  const listOpened = page.waitForURL(/\/sso\/connections$/);
  await google.getByRole('button', { name: 'Yes, remove' }).click();
  await listOpened;
  await hydrated(page);
  await expect(page.locator('#connection-table')).not.toContainText('Google Workspace');
  await expect(page.locator('#connection-table').getByRole('link', { name: 'Okta' })).toBeVisible();
});

test('an owner picks one IdP of a federation file from a searchable list, then adds role rules in place', async ({ page }) => {
  await signUp(page, uniqueEmail('owner'));
  await openSso(page);
  await openSsoSection(page, 'Identity providers');
  const add = page.locator('#add-connection');
  await add.getByLabel('Name (optional)', { exact: true }).first().fill('University');
  await add.getByLabel('Metadata file (.xml)').setInputFiles(join(fixtures, 'multi_idp_edugain.entities.xml'));
  await page.getByRole('button', { name: 'Import metadata' }).click();

  // The file's two IdPs (its service provider is left out), by name, entity ID and sign-on URL.
  const choices = add.locator('form.metadata-file-form fieldset.choices');
  await expect(choices.locator('legend')).toHaveText('This file lists 2 identity providers. Choose the one to connect.');
  const rows = choices.locator('.choice-row');
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toContainText('University of Algarve');
  await expect(rows.nth(0)).toContainText('https://si-saai.ualg.pt/idp/shibboleth');
  await expect(rows.nth(1)).toContainText('FCT|FCCN');
  await expect(rows.nth(1)).toContainText('https://idp.fccn.pt/idp/profile/SAML2/Redirect/SSO');
  await expect(page.locator('#no-connections')).toBeVisible();
  await add.scrollIntoViewIfNeeded();
  await screenshot(page, 'connection-choose-idp');

  // Typing narrows the list; the choice is one button, reachable from the keyboard.
  const search = choices.getByLabel('Search the list');
  await search.fill('nowhere');
  await expect(rows.filter({ visible: true })).toHaveCount(0);
  await expect(choices.getByText('Nothing in the list matches.')).toBeVisible();
  await search.fill('fccn');
  await expect(rows.filter({ visible: true })).toHaveCount(1);
  await expect(rows.nth(0)).toBeHidden();
  const choose = choices.getByRole('button', { name: 'Choose FCT|FCCN' });
  await expect(choose).toBeVisible();
  await choose.focus();
  const shownAgain = await pageShownAgain(page);
  await page.keyboard.press('Enter');
  await shownAgain();
  const university = await openConnection(page, 'University');
  await expect(university).toContainText('https://idp.fccn.pt/idp/shibboleth');
  await expect(university).not.toContainText('https://si-saai.ualg.pt/idp/shibboleth');

  // Role mappings: two more rows added in place, filled, saved; both rules come back.
  await openSection(university, 'Role mappings');
  await expect(university.getByLabel('Rule 4 attribute name')).toHaveCount(0);
  await university.getByRole('button', { name: 'Add a rule' }).click();
  await expect(university.getByLabel('Rule 4 attribute name')).toBeFocused();
  await university.getByRole('button', { name: 'Add a rule' }).click();
  await university.getByLabel('Rule 4 attribute name').fill('eduPersonAffiliation');
  await university.getByLabel('Rule 4 value').fill('staff');
  await university.getByLabel('Rule 4 role').selectOption('admin');
  await university.getByLabel('Rule 5 attribute name').fill('eduPersonAffiliation');
  await university.getByLabel('Rule 5 value').fill('student');
  await university.getByLabel('Rule 5 role').selectOption('no_access');
  await screenshot(page, 'connection-rules-added');
  await submitAndReload(page, university.getByRole('button', { name: 'Save role mappings' }));
  const saved = page.getByRole('article', { name: 'University' });
  await expect(saved.getByLabel('Rule 1 value')).toHaveValue('staff');
  await expect(saved.getByLabel('Rule 1 role')).toHaveValue('admin');
  await expect(saved.getByLabel('Rule 2 attribute name')).toHaveValue('eduPersonAffiliation');
  await expect(saved.getByLabel('Rule 2 value')).toHaveValue('student');
  await expect(saved.getByLabel('Rule 2 role')).toHaveValue('no_access');
  await expect(saved.getByLabel('Rule 5 attribute name')).toHaveValue('');
});

test('an owner tunes a connection: options, SP keys, SP metadata, replacement; an admin is refused the owner-only options', async ({ page, browser }) => {
  await signUp(page, uniqueEmail('owner'));
  const accountId = new URL(page.url()).pathname.split('/')[2];
  await openSso(page);
  await openSsoSection(page, 'Identity providers');
  const add = page.locator('#add-connection');
  await add.getByLabel('Name (optional)', { exact: true }).first().fill('Okta');
  await add.getByLabel('Metadata file (.xml)').setInputFiles(join(fixtures, 'okta.metadata.xml'));
  await submitAndReload(page, 'Import metadata');
  let okta = await openConnection(page, 'Okta');
  const connectionPage = page.url();

  // Options start strict; a bad value is refused next to its field; a good one is saved and audited.
  await openSection(okta, 'Sign-in options');
  await expect(okta.getByLabel('Allow IdP-initiated sign-in')).not.toBeChecked();
  await expect(okta.getByLabel('Allow SHA-1 signatures')).not.toBeChecked();
  await expect(okta.getByLabel('Sign AuthnRequests')).toBeChecked();
  await expect(okta.getByLabel('AuthnRequest binding')).toHaveValue('redirect');
  await okta.getByLabel('Allowed clock skew (seconds)').fill('900');
  // The browser's own range check stops 900 first; typed past it, the server answers next to the field.
  await okta.getByLabel('Allowed clock skew (seconds)').evaluate((input: HTMLInputElement) => input.removeAttribute('max'));
  await okta.getByRole('button', { name: 'Save options' }).click();
  await expect(okta.locator('[data-error-for="clock_skew_seconds"]')).toContainText('from 0 to 600');
  await okta.getByLabel('Allowed clock skew (seconds)').fill('120');
  await okta.getByLabel('An attribute:').check();
  await okta.getByLabel('Email attribute name').fill('email');
  await okta.getByLabel('Requested authentication context').selectOption('password_protected_transport');
  await submitAndReload(page, 'Save options');
  okta = page.getByRole('article', { name: 'Okta' });
  await openSection(okta, 'Sign-in options');
  await expect(okta.getByLabel('Allowed clock skew (seconds)')).toHaveValue('120');
  await expect(okta.getByLabel('Email attribute name')).toHaveValue('email');
  await screenshot(page, 'connection-options');
  await expectInAuditLog(page, 'Clock skew: 180 s → 120 s');

  // The SP metadata is public at the URL the page shows, with this connection's key.
  const metadataUrl = await okta.getByLabel('SP metadata URL').inputValue();
  const served = await page.request.get(metadataUrl);
  expect(served.status()).toBe(200);
  expect(served.headers()['content-type']).toBe('application/samlmetadata+xml');
  const spXml = await served.text();
  expect(spXml).toContain('AuthnRequestsSigned="true"');
  await expect(okta.getByRole('link', { name: 'Download SP metadata (.xml)' })).toHaveAttribute('href', `${metadataUrl}?download=true`);

  // SP key rotation: publish, switch, remove the previous one.
  await openSection(okta, 'Gatehouse keys for this connection');
  await expect(okta.locator('.sp-key')).toHaveCount(1);
  await submitAndReload(page, 'Publish a new key');
  okta = page.getByRole('article', { name: 'Okta' });
  await openSection(okta, 'Gatehouse keys for this connection');
  await expect(okta.locator('.sp-key-next')).toContainText('New: published in the SP metadata');
  const published = await (await page.request.get(metadataUrl)).text();
  expect(published.match(/KeyDescriptor use=/g)?.length).toBe(4);
  await submitAndReload(page, 'Switch to the new key');
  okta = page.getByRole('article', { name: 'Okta' });
  await openSection(okta, 'Gatehouse keys for this connection');
  await expect(okta.locator('.sp-key-previous')).toContainText('Previous: still decrypts');
  await screenshot(page, 'connection-keys');
  await submitAndReload(page, 'Remove the previous key');
  okta = page.getByRole('article', { name: 'Okta' });
  await expect(okta.locator('.sp-key')).toHaveCount(1);

  // The setup guides carry this connection's values.
  await openSection(okta, 'Setup guides');
  await openSection(okta, 'Microsoft Entra ID');
  const acs = await okta.getByLabel('Reply URL (Assertion Consumer Service, HTTP-POST)').inputValue();
  await expect(okta.locator('details.guide[open]')).toContainText(acs);

  // Editing the IdP settings in place keeps the connection and its SP values.
  await openSection(okta, 'Edit or replace the IdP settings');
  const manual = okta.locator('form.manual-form');
  await expect(manual.getByLabel('IdP Entity ID (issuer)')).toHaveValue('http://www.okta.com/exkdoocxa1VmjpXmX697');
  await manual.getByLabel('Single logout URL').fill('https://trial-1022863.okta.com/app/slo/saml');
  const shownAgain = await pageShownAgain(page);
  await manual.getByRole('button', { name: 'Save changes' }).click();
  await shownAgain();
  okta = page.getByRole('article', { name: 'Okta' });
  await expect(okta).toContainText('https://trial-1022863.okta.com/app/slo/saml');
  expect(await okta.getByLabel('Reply URL (Assertion Consumer Service, HTTP-POST)').inputValue()).toBe(acs);
  await expectInAuditLog(page, 'Connection settings replaced');

  // Phone width: the card stacks and stays readable.
  await page.setViewportSize({ width: 390, height: 844 });
  await openSection(okta, 'Sign-in options');
  await screenshot(page, 'connection-phone');
  await page.setViewportSize({ width: 1280, height: 800 });

  // An admin sees the owner-only switches locked, and the server refuses them too.
  const adminEmail = uniqueEmail('admin');
  const invitation = await callApi(page, '/api/accounts/invite', { account_id: accountId, email: adminEmail, role: 'admin' });
  const token = String(invitation.body.link).split('/').pop()!;
  const adminContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const admin = await adminContext.newPage();
  await signUp(admin, adminEmail);
  expect((await callApi(admin, '/api/invitations/accept', { token })).status).toBe(200);
  await admin.goto(connectionPage);
  await hydrated(admin);
  const adminOkta = admin.getByRole('article', { name: 'Okta' });
  await openSection(adminOkta, 'Sign-in options');
  await expect(adminOkta.getByLabel('Allow SHA-1 signatures')).toBeDisabled();
  await expect(adminOkta.getByLabel('Allow IdP-initiated sign-in')).toBeDisabled();
  await expect(adminOkta).toContainText('Only the account owner can change these two.');
  await expect(adminOkta.getByLabel('An attribute:')).toBeDisabled();
  const connectionId = metadataUrl.split('/').slice(-2)[0];
  const refused = await callApi(admin, '/api/sso/connection-options', {
    account_id: accountId,
    connection_id: connectionId,
    sign_authn_requests: 'true',
    binding: 'redirect',
    authn_context: 'none',
    email_source: 'nameid',
    clock_skew_seconds: '120',
    allow_sha1: 'true',
  });
  expect(refused.status).toBe(403);
  // Adding an IdP or a certificate is the Owner's alone: not offered to the admin, and refused by the server.
  await expect(adminOkta.getByText('Add a certificate (before the IdP rolls over to a new one)')).toHaveCount(0);
  await openSsoSection(admin, 'Identity providers');
  await expect(admin.locator('#trust-owner-only')).toContainText("Only the account's Owner can add identity providers or certificates");
  await expect(admin.locator('#add-connection')).toHaveCount(0);
  const widened = await callApi(admin, '/api/sso/add-certificates', { account_id: accountId, connection_id: connectionId, certificate: 'MIIB' });
  expect(widened.status).toBe(403);
  await adminContext.close();
});

test('an owner imports metadata from a URL that Gatehouse keeps monitoring', async ({ page }) => {
  const okta = readFileSync(join(fixtures, 'okta.metadata.xml'));
  let requests = 0;
  const idp = createServer((_, response) => {
    requests += 1;
    response.writeHead(200, { 'content-type': 'application/samlmetadata+xml' });
    response.end(okta);
  });
  await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(idp.address() as AddressInfo).port}/app/exkdoocxa1VmjpXmX697/sso/saml/metadata`;
  try {
    await signUp(page, uniqueEmail('owner'));
    await openSso(page);
    await openSsoSection(page, 'Identity providers');
    const add = page.locator('#add-connection');
    await add.locator('#new-url-label').fill('Okta');
    await add.getByLabel('Metadata URL', { exact: true }).fill('not a url');
    await add.getByLabel('Metadata URL', { exact: true }).evaluate((input: HTMLInputElement) => (input.type = 'text'));
    await page.getByRole('button', { name: 'Import from URL' }).click();
    await expect(add.locator('[data-error-for="url"]')).toContainText('https://');
    await add.getByLabel('Metadata URL', { exact: true }).fill(url);
    await expect(add.getByLabel('Monitor metadata URL')).toBeChecked();
    await submitAndReload(page, 'Import from URL');
    const card = await openConnection(page, 'Okta');
    await expect(card).toContainText('From a metadata URL');
    await expect(card.locator('.monitor')).toContainText('Monitored: fetched again regularly');
    await submitAndReload(page, 'Refresh now');
    const refreshes = page.getByRole('article', { name: 'Okta' }).locator('details', { has: page.locator('.refreshes') });
    await refreshes.locator('summary').click();
    await expect(refreshes.locator('.refreshes')).toContainText('No change');
    expect(requests).toBe(2);
    await screenshot(page, 'connection-metadata-url');
  } finally {
    idp.close();
  }
});

test('a refused SSO answer shows the user a reason and a reference, and the owner finds it under SSO events', async ({ page }) => {
  await signUp(page, uniqueEmail('owner'));
  await openSso(page);
  await openSsoSection(page, 'Identity providers');
  const add = page.locator('#add-connection');
  await add.getByLabel('Name (optional)', { exact: true }).first().fill('Okta');
  await add.getByLabel('Metadata file (.xml)').setInputFiles(join(fixtures, 'okta.metadata.xml'));
  await submitAndReload(page, 'Import metadata');
  const metadataUrl = await (await openConnection(page, 'Okta')).getByLabel('SP metadata URL').inputValue();
  await openSsoSection(page, 'SSO events');
  await expect(page.locator('#sso-events')).toContainText('No one has signed in through SSO yet.');
  const acs = metadataUrl.replace(/metadata$/, 'acs');

  // What an end user's browser posts when an IdP answers while SSO is still off.
  const refused = await page.request.post(acs, { form: { SAMLResponse: 'PHNhbWxwOlJlc3BvbnNlLz4=', RelayState: '' } });
  expect(refused.status()).toBe(403);
  const body = await refused.text();
  expect(body).toContain('Single sign-on is turned off for this account.');
  const reference = body.split('<code>')[1].split('</code>')[0];

  await page.reload();
  const events = page.locator('#sso-events');
  await expect(events).toContainText('Refused');
  await expect(events).toContainText(`ref. ${reference}`);
  await expect(events).toContainText('SSO is off');
  await events.scrollIntoViewIfNeeded();
  await screenshot(page, 'sso-events');
});

test('signing in with an email alone asks for the password where the domain has no SSO', async ({ page }) => {
  await page.goto('/sign-in');
  await hydrated(page);
  await page.getByLabel('Email').fill(uniqueEmail('someone'));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('[data-error-for="password"]')).toHaveText(
    'Enter your password. Single sign-on is not set up for this email address.',
  );
  await screenshot(page, 'sign-in-sso-hint');
});

test('an owner is warned of a certificate near its end, adds the next one, and the warning goes', async ({ page }) => {
  await signUp(page, uniqueEmail('owner'));
  await openSso(page);
  await openSsoSection(page, 'Identity providers');
  const add = page.locator('#add-connection');
  await add.getByText('Or enter the details by hand').click();
  await add.locator('#new-manual-label').fill('Entra ID');
  await add.getByLabel('IdP Entity ID (issuer)').fill('https://sts.windows.net/0f1e2d3c-1111-2222-3333-444455556666/');
  await add.getByLabel('Single sign-on URL').fill('https://login.microsoftonline.com/0f1e2d3c-1111-2222-3333-444455556666/saml2');
  await add.getByLabel('Signing certificate (Base64 or PEM; several allowed)').fill(certificateFor(5, 'Microsoft Azure Federated SSO Certificate'));
  await submitAndReload(page, 'Save connection');

  // Every page of the account warns the owner, with the date, what to do at Entra ID, and the way to the certificates.
  await page.goto(page.url().replace(/\/sso\/connections$/, ''));
  const banner = page.getByRole('status', { name: 'Signing certificate of Entra ID' });
  await expect(banner).toContainText(/The last signing certificate of Entra ID expires in 5 days, on \d{4}-\d{2}-\d{2}/);
  await expect(banner).toContainText('Single sign-on › SAML Certificates › Edit › New Certificate');
  await screenshot(page, 'certificate-banner');

  await banner.getByRole('link', { name: 'Open the certificates of Entra ID' }).click();
  await expect(page).toHaveURL(/\/sso\/connections\/[0-9a-f-]{36}#signing-certificates-/);
  await hydrated(page);
  let card = page.getByRole('article', { name: 'Entra ID' });
  const certificates = card.locator('.idp-certificates .certificate');
  await expect(certificates).toHaveCount(1);
  await expect(certificates.first()).toContainText('Has not verified a sign-in yet');

  // The next certificate, pasted: both are trusted, the warning is gone.
  await openSection(card, 'Add a certificate');
  await card.getByLabel("New signing certificate (Base64 or PEM), or the IdP's new metadata XML").fill(certificateFor(730, 'Microsoft Azure Federated SSO Certificate 2'));
  await submitAndReload(page, 'Add certificate');
  card = page.getByRole('article', { name: 'Entra ID' });
  await expect(card.locator('.idp-certificates .certificate')).toHaveCount(2);
  await expect(card.locator('.idp-certificates')).toContainText('Microsoft Azure Federated SSO Certificate 2');
  await expect(page.locator('.certificate-notice')).toHaveCount(0);
  await expect(card.locator('.idp-certificates .certificate').first()).toContainText('A longer-lasting certificate is already added');
  await screenshot(page, 'certificate-rollover');
});
