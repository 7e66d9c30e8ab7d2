import { Browser, Page } from '@playwright/test';
import {
  test, expect, uniqueEmail, hydrated, signUp, screenshot, openSso, openSsoSection, openConnection, gotoSsoSection, submitAndReload,
  verifiedDomain, domainRow, PASSWORD,
} from './helpers';
import { IDP_PASSWORD, idpAdmin, idpPort, idpPost, idpTrustsSp, idpUser, signInAtIdp } from './idp';

test.beforeEach(async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
});
// Each test sets up an account, verifies a domain and connects the IdP before the sign-ins themselves.
test.setTimeout(90_000);

/** Signs in the way an end user does: email only on Gatehouse's sign-in page, then the IdP; lands in the account. */
async function signInThroughSso(page: Page, email: string, accountId: string) {
  await page.goto('/sign-in');
  await hydrated(page);
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await signInAtIdp(page, email);
  await expect(page).toHaveURL(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/accounts/${accountId}$`));
  await hydrated(page);
}

/** Signs out of Gatehouse; a session SSO opened continues at the IdP, which ends its own session and answers. */
async function signOutThroughIdp(page: Page) {
  await hydrated(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  // Three hops: Gatehouse's LogoutRequest to the IdP, which verifies it and answers back to the SLO URL.
  await expect(page).toHaveURL(/\/saml\/[0-9a-f-]{36}\/slo\?SAMLResponse=/, { timeout: 15_000 });
  await expect(page.getByRole('heading', { level: 2 })).toHaveText('You are signed out');
  await expect(page.locator('main')).toContainText('You are signed out of Gatehouse and of your identity provider.');
}

async function newUserPage(browser: Browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return { context, page, errors };
}

interface Setup {
  /** The owner's own address is at the domain the IdP will serve (else at acme.example). */
  ownerAtDomain?: boolean;
  /** Runs once the domain is routed to the IdP, just before SSO is turned on (the domain not yet claimed). */
  beforeSsoOn?: (domain: string) => Promise<void>;
}

/** An owner with a verified domain, the test IdP connected by its metadata URL, mappings set and SSO on. */
async function connectTestIdp(page: Page, setup: Setup = {}) {
  const domain = `corp-${Date.now().toString(36)}.example`;
  const owner = setup.ownerAtDomain ? `owner@${domain}` : uniqueEmail('owner');
  await signUp(page, owner);
  const accountId = new URL(page.url()).pathname.split('/')[2];
  await openSso(page);
  await openSsoSection(page, 'Domains');
  await verifiedDomain(page, domain);

  await openSsoSection(page, 'Identity providers');
  const add = page.locator('#add-connection');
  await add.locator('#new-url-label').fill('Test IdP');
  await add.getByLabel('Metadata URL', { exact: true }).fill(`${idpAdmin}/metadata`);
  await add.getByLabel('Monitor metadata URL').uncheck();
  await submitAndReload(page, 'Import from URL');
  const card = await openConnection(page, 'Test IdP');
  const connectionUrl = page.url();
  await expect(card).toContainText(`http://localhost:${idpPort}/metadata`);

  // The IdP admin's half: give the IdP Gatehouse's SP metadata.
  const spMetadataUrl = await card.getByLabel('SP metadata URL').inputValue();
  await idpTrustsSp(page, spMetadataUrl);

  await card.locator('summary', { hasText: 'Role mappings' }).click();
  await card.getByLabel('Rule 1 attribute name').fill('groups');
  await card.getByLabel('Rule 1 value').fill('engineering');
  await card.getByLabel('Rule 1 role').selectOption('admin');
  await card.getByLabel('Rule 2 attribute name').fill('groups');
  await card.getByLabel('Rule 2 value').fill('support');
  await card.getByLabel('Rule 2 role').selectOption('viewer');
  await card.getByLabel('Everyone else gets').selectOption('no_access');
  await card.getByLabel('Enforce role mapping on every sign-in').check();
  await submitAndReload(page, card.getByRole('button', { name: 'Save role mappings' }));

  const signOnUrl = await card.getByLabel('Gatehouse sign-on URL (start sign-in here)').inputValue();

  // The owner routes the domain's sign-ins to the new connection.
  await openSsoSection(page, 'Domains');
  await expect(page.getByLabel(`Sign-in for ${domain}`)).toBeVisible();
  await page.getByLabel(`Sign-in for ${domain}`).selectOption({ label: 'Test IdP' });
  await submitAndReload(page, domainRow(page, domain).getByRole('button', { name: 'Save' }));
  await expect(page.getByLabel(`Sign-in for ${domain}`)).toHaveValue(/[0-9a-f-]{36}/);

  if (setup.beforeSsoOn) {
    await setup.beforeSsoOn(domain);
  }
  await openSsoSection(page, 'Overview');
  const policy = page.locator('#sso-policy');
  await policy.getByLabel('SSO enabled').check();
  await policy.getByLabel('Enforce SSO').check();
  await submitAndReload(page, 'Save sign-in policy');
  await expect(page.locator('#sso-policy .badge').first()).toHaveText('On');
  return { accountId, domain, signOnUrl, owner, connectionUrl };
}

test('an employee signs in through the company IdP, gets the mapped role, and loses it when the IdP group changes', async ({ page, browser }) => {
  const { accountId, domain } = await connectTestIdp(page);
  const alice = `alice@${domain}`;
  await idpUser(alice, { groups: ['everyone', 'engineering'] });

  const user = await newUserPage(browser);
  await signInThroughSso(user.page, alice, accountId);
  await expect(user.page.locator('.account-title .badge')).toHaveText('Admin');
  await screenshot(user.page, 'sso-signed-in');

  // The IdP admin moves Alice to support; with enforced mapping her next sign-in makes her a Viewer.
  await idpUser(alice, { groups: ['everyone', 'support'] });
  await signOutThroughIdp(user.page);
  await signInThroughSso(user.page, alice, accountId);
  await expect(user.page.locator('.account-title .badge')).toHaveText('Viewer');

  // Enforce SSO: her password sign-in is refused with the way out.
  await signOutThroughIdp(user.page);
  await user.page.getByRole('link', { name: 'Sign in again' }).click();
  await expect(user.page).toHaveURL(/\/sign-in$/);
  await hydrated(user.page);
  await user.page.getByLabel('Email').fill(alice);
  await user.page.getByLabel('Password').fill(PASSWORD);
  await user.page.getByRole('button', { name: 'Sign in' }).click();
  await expect(user.page.locator('[data-error-for="password"]')).toHaveText(
    'Your organisation requires single sign-on: leave the password empty and press Sign in.',
  );
  await screenshot(user.page, 'sso-required');
  expect(user.errors).toEqual([]);
  await user.context.close();

  // The owner sees both sign-ins and the role change.
  await openSsoSection(page, 'SSO events');
  const events = page.locator('#sso-events');
  await expect(events.getByText(alice).first()).toBeVisible();
  await expect(events).toContainText('Signed in');
  await openSsoSection(page, 'Audit log');
  await expect(page.locator('#audit-log')).toContainText('Admin → Viewer');
});

// The IdP's POST to the ACS is cross-site, so the browser leaves out the SameSite=Lax session cookie there; the
// ACS's page moves on to /sso/complete on Gatehouse's own site, where the browser sends both and the choice is asked.
test('an SSO sign-in in a browser signed in as someone else asks before switching users', async ({ page }) => {
  const { accountId, domain, signOnUrl } = await connectTestIdp(page);
  const erin = `erin@${domain}`;
  await idpUser(erin, { groups: ['everyone', 'engineering'] });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));

  // The owner's own browser follows a sign-on link and completes Erin's sign-in at the IdP.
  await page.goto(signOnUrl);
  await signInAtIdp(page, erin);
  await expect(page.getByRole('heading', { level: 2 })).toHaveText('Switch to another user?');
  await expect(page.locator('main')).toContainText(erin);
  await screenshot(page, 'sso-switch-user');

  await page.getByRole('button', { name: `Continue as ${erin}` }).click();
  await expect(page).toHaveURL(new RegExp(`/accounts/${accountId}$`));
  await hydrated(page);
  await expect(page.locator('.account-title .badge')).toHaveText('Admin');
  expect(errors).toEqual([]);
});

test('a user who signed up with a password before SSO is taken over by the IdP at their first SSO sign-in', async ({ page, browser }) => {
  const user = await newUserPage(browser);
  let dave = '';
  const { accountId } = await connectTestIdp(page, {
    beforeSsoOn: async (domain) => {
      // Before the owner turns SSO on, someone signs up with a password at the domain.
      dave = `dave@${domain}`;
      await signUp(user.page, dave);
      await hydrated(user.page);
      await user.page.getByRole('button', { name: 'Sign out' }).click();
      await expect(user.page).toHaveURL(/\/sign-in/);
    },
  });
  await idpUser(dave, { groups: ['everyone', 'engineering'] });

  // The first SSO sign-in lands in the account with the mapped role; the password is gone.
  await signInThroughSso(user.page, dave, accountId);
  await expect(user.page.locator('.account-title .badge')).toHaveText('Admin');
  await signOutThroughIdp(user.page);
  await user.page.getByRole('link', { name: 'Sign in again' }).click();
  await hydrated(user.page);
  await user.page.getByLabel('Email').fill(dave);
  await user.page.getByLabel('Password').fill(PASSWORD);
  await user.page.getByRole('button', { name: 'Sign in' }).click();
  await expect(user.page.locator('[data-error-for="password"]')).toBeVisible();
  await expect(user.page).toHaveURL(/\/sign-in/);
  expect(user.errors).toEqual([]);
  await user.context.close();

  // The owner reads what happened, in the SSO events and the audit log.
  await openSsoSection(page, 'SSO events');
  await expect(page.locator('#sso-events')).toContainText(`existing user ${dave} now signs in through Test IdP`);
  await screenshot(page, 'sso-takeover-events');
  await openSsoSection(page, 'Audit log');
  await expect(page.locator('#audit-log')).toContainText('Existing user taken over by SSO');
});

test('the owner is never signed in by an unlinked assertion, and links their own IdP identity from the connection card', async ({ page, browser }) => {
  const { accountId, owner, connectionUrl } = await connectTestIdp(page, { ownerAtDomain: true });
  await idpUser(owner, { groups: ['everyone'] });

  // Through the IdP, unlinked, the Owner is refused with a reason they can read; the password still works.
  const other = await newUserPage(browser);
  await other.page.goto('/sign-in');
  await hydrated(other.page);
  await other.page.getByLabel('Email').fill(owner);
  await other.page.getByRole('button', { name: 'Sign in' }).click();
  await signInAtIdp(other.page, owner);
  await expect(other.page.getByRole('heading', { level: 2 })).toHaveText('Single sign-on did not work');
  await expect(other.page.locator('main')).toContainText('Owner signs in with their password');

  // The Owner, signed in with the password, links deliberately from the connection's page.
  await page.goto(connectionUrl);
  await hydrated(page);
  const card = page.getByRole('article', { name: 'Test IdP' });
  await expect(card.getByRole('button', { name: 'Link my sign-in' })).toBeVisible();
  await screenshot(page, 'sso-owner-link-button');
  await card.getByRole('button', { name: 'Link my sign-in' }).click();
  await signInAtIdp(page, owner);
  await expect(page.getByRole('heading', { level: 2 })).toHaveText('Your sign-in is linked');
  await expect(page.locator('main')).toContainText(`Test IdP now signs you in as ${owner}`);
  await screenshot(page, 'sso-owner-linked');
  await page.getByRole('link', { name: 'Back to the connection' }).click();
  await expect(page).toHaveURL(connectionUrl);
  await hydrated(page);
  await openSsoSection(page, 'Audit log');
  await expect(page.locator('#audit-log')).toContainText('Owner linked their IdP identity');

  // Now the IdP signs the Owner in, as the Owner.
  await signInThroughSso(other.page, owner, accountId);
  await expect(other.page.locator('.account-title .badge')).toHaveText('Owner');
  expect(other.errors).toEqual([]);
  await other.context.close();
});

test('signing out ends the IdP session too, and the IdP signing the user out ends the Gatehouse session', async ({ page, browser }) => {
  const { accountId, domain, connectionUrl } = await connectTestIdp(page);
  await page.goto(connectionUrl);
  const spEntityId = await page.getByRole('article', { name: 'Test IdP' }).getByLabel('Identifier (Entity ID)').inputValue();
  const dana = `dana@${domain}`;
  await idpUser(dana, { groups: ['engineering'] });
  const user = await newUserPage(browser);
  const idpSession = async () => (await user.page.request.get(`http://localhost:${idpPort}/session`)).json();
  const expectSignedOutOfGatehouse = async () => {
    await user.page.goto(`/accounts/${accountId}`);
    await expect(user.page).toHaveURL(/\/sign-in/);
  };

  // SP-initiated: Sign out sends a signed LogoutRequest naming Dana's IdP session; the IdP ends it and answers.
  await signInThroughSso(user.page, dana, accountId);
  expect((await idpSession()).sps[spEntityId].name_id).toBe(dana);
  await signOutThroughIdp(user.page);
  await screenshot(user.page, 'sso-signed-out');
  expect(await idpSession()).toBeNull();
  await expectSignedOutOfGatehouse();

  // IdP-initiated: signing out of the application at the IdP ends the Gatehouse session, and the IdP hears back.
  await signInThroughSso(user.page, dana, accountId);
  await user.page.goto(`http://localhost:${idpPort}/logout?sp=${encodeURIComponent(spEntityId)}`);
  await expect(user.page.locator('h1')).toHaveText('Signed out');
  await expect(user.page.locator('body')).toContainText('urn:oasis:names:tc:SAML:2.0:status:Success (RelayState idp-relay-7)');
  await expectSignedOutOfGatehouse();
  expect(user.errors).toEqual([]);
  await user.context.close();

  // The owner reads both in the SSO events.
  await gotoSsoSection(page, 'events');
  const events = page.locator('#sso-events');
  await expect(events).toContainText('signed out at the IdP');
  await expect(events).toContainText('signed out by the IdP (SessionIndex');
  await expect(events).toContainText('1 Gatehouse session(s) ended');
});

test('a user of a domain the account has not verified is refused, and the owner reads why', async ({ page, browser }) => {
  const { signOnUrl } = await connectTestIdp(page);
  const stranger = `mallory@elsewhere-${Date.now().toString(36)}.example`;
  await idpUser(stranger, { groups: ['engineering'] });

  // Started from the connection's sign-on URL, as an IdP portal tile does.
  const user = await newUserPage(browser);
  await user.page.goto(signOnUrl);
  await signInAtIdp(user.page, stranger);
  await expect(user.page.locator('main')).toContainText('Reference for your administrator');
  const reference = (await user.page.locator('code').first().textContent())!;
  await screenshot(user.page, 'sso-refused');
  await user.context.close();

  await openSsoSection(page, 'SSO events');
  const events = page.locator('#sso-events');
  await expect(events).toContainText(`ref. ${reference}`);
  await expect(events).toContainText('Refused');
  await expect(events).toContainText(stranger);
  await expect(events).toContainText('is not a verified domain of this account');
});

test('a refusal the owner can fix is explained with the setting to change at the IdP, in Test SSO and in the events', async ({ page }) => {
  const { domain, connectionUrl } = await connectTestIdp(page);
  const tester = `it-admin@${domain}`;
  // The IdP sends no "mail" attribute, and the connection is set to take the email from one.
  await idpUser(tester, { groups: ['everyone'] });
  await page.goto(connectionUrl);
  await hydrated(page);
  const card = page.getByRole('article', { name: 'Test IdP' });
  await card.locator('summary', { hasText: 'Sign-in options' }).click();
  await card.getByLabel('An attribute:').check();
  await card.getByLabel('Email attribute name').fill('mail');
  await submitAndReload(page, card.getByRole('button', { name: 'Save options' }));

  const button = page.getByRole('article', { name: 'Test IdP' }).getByRole('link', { name: 'Test SSO' });
  const [report] = await Promise.all([page.context().waitForEvent('page'), button.click()]);
  await signInAtIdp(report, tester);
  await expect(report.locator('h1')).toHaveText('Test failed: A usable email address (from the NameID or the configured attribute)');
  const fix = report.locator('.check.failed .fix');
  await expect(fix).toContainText('How to fix: Send the user\'s email address in the attribute mail');
  await screenshot(report, 'sso-test-report-fix');
  await report.close();

  await gotoSsoSection(page, 'events');
  await expect(page.locator('#sso-events .fix').first()).toContainText('in the attribute mail');
  await screenshot(page, 'sso-events-fix');
});

test('IdP-initiated sign-in from the portal is refused until the owner allows it', async ({ page, browser }) => {
  const { accountId, domain, connectionUrl } = await connectTestIdp(page);
  await page.goto(connectionUrl);
  await hydrated(page);
  const card = page.getByRole('article', { name: 'Test IdP' });
  const spEntityId = await card.getByLabel('Identifier (Entity ID)').inputValue();
  const bob = `bob@${domain}`;
  await idpUser(bob, { groups: ['support'] });
  // A portal tile: the IdP signs Bob in and posts a response that answers no request of Gatehouse.
  const portalTile = `http://localhost:${idpPort}/start?sp=${encodeURIComponent(spEntityId)}`;

  const user = await newUserPage(browser);
  await user.page.goto(portalTile);
  await signInAtIdp(user.page, bob);
  await expect(user.page.locator('main')).toContainText('Reference for your administrator');
  await gotoSsoSection(page, 'events');
  await expect(page.locator('#sso-events')).toContainText('IdP-initiated sign-in is off for this connection');

  await page.goto(connectionUrl);
  await hydrated(page);
  await card.locator('summary', { hasText: 'Sign-in options' }).click();
  await card.getByLabel('Allow IdP-initiated sign-in').check();
  await submitAndReload(page, card.getByRole('button', { name: 'Save options' }));
  await expect(page.getByRole('article', { name: 'Test IdP' }).getByLabel('Allow IdP-initiated sign-in')).toBeChecked();

  await user.page.goto(portalTile);
  await signInAtIdp(user.page, bob);
  // Without a page to return to, the user lands in the account whose IdP they came through.
  await expect(user.page).toHaveURL(new RegExp(`/accounts/${accountId}$`));
  await hydrated(user.page);
  await expect(user.page.locator('.user-email')).toHaveText(bob);
  await expect(user.page.locator('.account-title .badge')).toHaveText('Viewer');
  expect(user.errors).toEqual([]);
  await user.context.close();
});

test('assertions encrypted for the connection key sign users in; a weak cipher is refused by name', async ({ page, browser }) => {
  const { accountId, domain } = await connectTestIdp(page);
  const carol = `carol@${domain}`;
  const encryptingUser = (cipher: string) =>
    idpPost('/admin/users', JSON.stringify({ email: carol, password: IDP_PASSWORD, attributes: { groups: ['engineering'] }, encrypt: cipher }));
  const user = await newUserPage(browser);

  // pysaml2's own default, Triple DES, is refused, and the owner reads which cipher to change.
  await encryptingUser('tripledes-cbc');
  await user.page.goto('/sign-in');
  await hydrated(user.page);
  await user.page.getByLabel('Email').fill(carol);
  await user.page.getByRole('button', { name: 'Sign in' }).click();
  await signInAtIdp(user.page, carol);
  await expect(user.page.locator('main')).toContainText('Reference for your administrator');
  await gotoSsoSection(page, 'events');
  await expect(page.locator('#sso-events')).toContainText('xmlenc#tripledes-cbc, which Gatehouse does not decrypt');

  // With AES (what Entra ID and ADFS use), the assertion encrypted for the key in the SP metadata decrypts.
  await encryptingUser('aes256-cbc');
  await signInThroughSso(user.page, carol, accountId);
  await expect(user.page.locator('.account-title .badge')).toHaveText('Admin');
  expect(user.errors).toEqual([]);
  await user.context.close();
});

test('the owner tests SSO in a new tab and reads every check, the NameID and the role, with nobody signed in', async ({ page }) => {
  const { domain, connectionUrl } = await connectTestIdp(page);
  const tester = `it-admin@${domain}`;
  await idpUser(tester, { groups: ['everyone', 'engineering'] });

  await page.goto(connectionUrl);
  await hydrated(page);
  const card = page.getByRole('article', { name: 'Test IdP' });
  const button = card.getByRole('link', { name: 'Test SSO' });
  await expect(button).toHaveAttribute('target', '_blank');
  const [report] = await Promise.all([page.context().waitForEvent('page'), button.click()]);
  await signInAtIdp(report, tester);
  await expect(report.locator('h1')).toHaveText('Test passed');
  await expect(report.locator('main')).toContainText('Nobody was signed in');
  await expect(report.locator('dd').first()).toHaveText(tester);
  await expect(report.locator('main')).toContainText('Role the current mappings give');
  await expect(report.locator('dd strong')).toHaveText('Admin');
  await expect(report.locator('.check.failed')).toHaveCount(0);
  await expect(report.locator('pre.saml-response')).toContainText('Response xmlns');
  await screenshot(report, 'sso-test-report');
  await expect(report.getByRole('link', { name: 'Back to the connection' })).toHaveAttribute('href', new URL(connectionUrl).pathname);
  await report.close();

  // The owner is still the owner, nobody joined the account, and the run is in the SSO events.
  await gotoSsoSection(page, 'events');
  await expect(page.locator('#sso-events')).toContainText('Test SSO passed');
  await page.goto(page.url().replace(/\/sso\/events$/, '/members'));
  await expect(page.locator('main')).not.toContainText(tester);
});
