import { Locator, Page } from '@playwright/test';
import {
  test, expect, uniqueEmail, hydrated, signUp, screenshot, recordValue, addDomain, submitAndReload, pageShownAgain,
} from './helpers';
import { publishTxt } from './dns';
import { idpAdmin, idpTrustsSp, idpUser, signInAtIdp } from './idp';

test.setTimeout(120_000);

/**
 * The owner's actions on Gatehouse, counted as the issue defines them: every page they open and every form they
 * send. The browser's own moves (the page shown again after a saved form, the hop back from the IdP) are not
 * theirs; what they do at their DNS provider and at the IdP is not counted either. Every key press goes through the
 * keyboard, so the walk also proves the path works without a mouse.
 */
class Owner {
  actions: string[] = [];
  private apiPosts = 0;

  constructor(private page: Page) {
    page.on('request', (request) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname.startsWith('/api/')) this.apiPosts += 1;
    });
  }

  /** Moves the keyboard focus to `target` with Tab alone, as a keyboard user would. */
  async tabTo(target: Locator) {
    for (let presses = 0; presses < 150; presses += 1) {
      if (await target.evaluate((element) => element === document.activeElement)) return;
      await this.page.keyboard.press('Tab');
    }
    throw new Error(`Tab never reached ${target}`);
  }

  async type(field: Locator, text: string) {
    await this.tabTo(field);
    await this.page.keyboard.type(text);
  }

  /** Sends a form with its button from the keyboard and waits for the page to show the saved state. */
  async submit(button: Locator, what: string) {
    await this.tabTo(button);
    const shownAgain = await pageShownAgain(this.page);
    await this.page.keyboard.press('Enter');
    await shownAgain();
    this.actions.push(`submit: ${what}`);
  }

  /** Follows a link from the keyboard. */
  async follow(link: Locator, what: string) {
    await this.tabTo(link);
    await this.page.keyboard.press('Enter');
    this.actions.push(`visit: ${what}`);
  }

  /** The forms the owner sent must be all the page sent: nothing was saved behind the count's back. */
  expectEveryPostCounted() {
    expect(this.apiPosts).toBe(this.actions.filter((a) => a.startsWith('submit')).length);
  }
}

test('a new owner sets up SSO in the guided setup in five actions by keyboard, then an employee signs in through the IdP', async ({ page, browser }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  const domain = `guided-${Date.now().toString(36)}.example`;
  await signUp(page, uniqueEmail('owner'));
  const accountId = new URL(page.url()).pathname.split('/')[2];
  const owner = new Owner(page);
  const setup = page.locator('#sso-setup');
  await expect(setup.getByRole('heading', { name: 'Step 1 of 4: Add your domain' })).toBeVisible();
  await expect(setup.locator('.setup-steps a[aria-current="step"]')).toContainText('Add your domain');
  await screenshot(page, 'setup-1-domain');

  // 1 and 2: the domain, its TXT record published at the DNS provider, then Verify.
  await owner.type(page.getByLabel('Domain', { exact: true }), domain);
  await owner.submit(page.getByRole('button', { name: 'Add domain' }), 'add the domain');
  await publishTxt(domain, [await recordValue(page, domain)]);
  await screenshot(page, 'setup-1-record');
  await owner.submit(page.getByRole('button', { name: 'Verify' }), 'verify it');

  // The setup moves on by itself: step 2 with the IdP picker; only the chosen IdP's guide shows.
  await expect(setup.getByRole('heading', { name: 'Step 2 of 4: Connect your identity provider' })).toBeVisible();
  await expect(setup.locator('.setup-steps li').first()).toHaveAttribute('data-state', 'done');
  await expect(setup.locator('.idp-guide-entra')).toBeHidden();
  await owner.tabTo(page.getByLabel('Microsoft Entra ID'));
  await page.keyboard.press('Space');
  await expect(setup.locator('.idp-guide-entra')).toBeVisible();
  await expect(setup.locator('.idp-guide-okta')).toBeHidden();
  await page.keyboard.press('ArrowRight');
  await expect(page.getByLabel('Okta')).toBeChecked();
  await expect(setup.locator('.idp-guide-okta')).toBeVisible();
  await expect(setup.locator('.idp-guide-entra')).toBeHidden();
  await page.keyboard.press('ArrowLeft');
  await expect(setup.locator('.idp-guide-entra')).toContainText('Basic SAML Configuration');
  // Gatehouse's metadata document is served once the connection exists: the guide does not point to it yet.
  await expect(setup.locator('.idp-guide-entra')).not.toContainText("save Gatehouse's metadata");
  // The values to enter at the IdP are this account's first connection's, before it exists.
  // The chosen guide shows each value where its IdP asks for it, with a copy button, so the list of values
  // for any IdP gives way to it.
  await expect(page.getByLabel('ACS URL (Reply URL)')).toBeHidden();
  const replyUrl = setup.locator('.idp-guide-entra ul > li').filter({ hasText: 'Reply URL (Assertion Consumer Service URL)' });
  const acsUrl = (await replyUrl.locator('code').textContent()) ?? '';
  expect(acsUrl).toMatch(/\/saml\/[0-9a-f-]{36}\/acs$/);
  await owner.tabTo(replyUrl.getByRole('button', { name: 'Copy Reply URL (Assertion Consumer Service URL)' }));
  await page.keyboard.press('Enter');
  await expect(replyUrl.getByRole('button', { name: 'Copied Reply URL (Assertion Consumer Service URL)' })).toBeVisible();
  await screenshot(page, 'setup-2-connect');
  // With a guide open the step still fits about two laptop screens: the guide sits beside the forms.
  expect(await page.evaluate(() => document.documentElement.scrollHeight)).toBeLessThanOrEqual(1600);

  // 3: the IdP's metadata URL.
  // No name to type: the connection is named after the IdP (here the host of its entity ID).
  await expect(setup.locator('#new-url-label')).toHaveCount(0);
  await owner.type(page.getByLabel('Metadata URL', { exact: true }), `${idpAdmin}/metadata`);
  await owner.submit(page.getByRole('button', { name: 'Import from URL' }), 'import the IdP metadata');
  // The connection got exactly the ACS URL the guide showed; the IdP administrator enters it (here: the SP metadata).
  await expect(setup.getByRole('heading', { name: 'Step 3 of 4: Test single sign-on' })).toBeVisible();
  const connectionId = acsUrl.split('/').at(-2);
  await idpTrustsSp(page, `${new URL(page.url()).origin}/saml/${connectionId}/metadata`);
  const tester = `it-admin@${domain}`;
  await idpUser(tester, { groups: ['everyone'] });
  await screenshot(page, 'setup-3-test');

  // 4: Test SSO, signing in at the IdP as a colleague; the browser comes back to the setup with the findings.
  await owner.follow(setup.getByRole('link', { name: /^Test SSO with/ }), 'Test SSO');
  await signInAtIdp(page, tester);
  await expect(page).toHaveURL(new RegExp(`/accounts/${accountId}/sso/setup$`));
  await hydrated(page);
  await expect(setup.getByRole('heading', { name: 'Step 4 of 4: Turn it on' })).toBeVisible();
  // The run's findings are shown inline: the verdict, who the IdP said signed in, and the role they would get.
  await expect(setup.locator('.last-test.passed')).toContainText('Test passed');
  await expect(setup.locator('.last-test')).toContainText(tester);
  await expect(setup.locator('.last-test')).toContainText('No access');
  await expect(setup.locator('.who-where')).toContainText(`People at ${domain} sign in through localhost.`);
  await screenshot(page, 'setup-4-turn-on');

  // 5: turn SSO on.
  await owner.submit(setup.getByRole('button', { name: 'Turn on single sign-on' }), 'turn SSO on');
  await expect(setup.getByRole('heading', { name: 'Single sign-on is on' })).toBeVisible();
  await screenshot(page, 'setup-finished');

  expect(owner.actions, owner.actions.join('\n')).toHaveLength(5);
  owner.expectEveryPostCounted();

  // An employee signs in through the IdP with only their email address.
  const employee = `employee@${domain}`;
  await idpUser(employee, { groups: ['everyone'] });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const user = await context.newPage();
  await user.goto('/sign-in');
  await hydrated(user);
  await user.getByLabel('Email').fill(employee);
  await user.getByRole('button', { name: 'Sign in' }).click();
  await signInAtIdp(user, employee);
  await expect(user).toHaveURL(new RegExp(`/accounts/${accountId}$`));
  await expect(user.locator('.topbar')).toContainText(employee);
  await context.close();
});

test('the setup keeps its place, follows the background DNS check, opens any step again, and a failed test says which check failed', async ({ page }) => {
  test.setTimeout(200_000);
  await page.setViewportSize({ width: 1280, height: 800 });
  await signUp(page, uniqueEmail('owner'));
  const setupUrl = page.url();
  const setup = page.locator('#sso-setup');
  // Later steps can be opened before the earlier ones are done, and say what they wait for.
  await page.goto(`${setupUrl}?step=4`);
  await expect(setup.locator('#turn-on-blocked')).toBeVisible();
  await page.goto(`${setupUrl}?step=3`);
  await expect(setup).toContainText('Connect your identity provider first');

  const domain = `kept-${Date.now().toString(36)}.example`;
  await page.goto(setupUrl);
  await hydrated(page);
  await addDomain(page, domain);
  // Leaving and coming back opens the first step not done, with the domain as it was left.
  await page.goto('/');
  await page.goto(setupUrl);
  await hydrated(page);
  await expect(setup.getByRole('heading', { name: 'Step 1 of 4: Add your domain' })).toBeVisible();
  // Without Verify: the background check finds the record (a minute after the domain was added) and the open page
  // shows the next step by itself.
  await expect(setup.getByRole('status').filter({ hasText: 'shows the result by itself' })).toBeVisible();
  await publishTxt(domain, [await recordValue(page, domain)]);
  await expect(setup.getByRole('heading', { name: 'Step 2 of 4: Connect your identity provider' })).toBeVisible({
    timeout: 120_000,
  });
  await hydrated(page);
  await page.getByLabel('Metadata URL', { exact: true }).fill(`${idpAdmin}/metadata`);
  await submitAndReload(page, 'Import from URL');
  const connectionId = (await page.locator('.test-connection a').getAttribute('href'))!.split('/')[2];
  await idpTrustsSp(page, `${new URL(page.url()).origin}/saml/${connectionId}/metadata`);

  // Someone whose domain the account has not verified: the test fails at that check and stays on step 3.
  const outsider = `someone@outside-${Date.now().toString(36)}.example`;
  await idpUser(outsider, { groups: ['everyone'] });
  await page.getByRole('link', { name: 'Test SSO with localhost' }).click();
  await signInAtIdp(page, outsider);
  await expect(page).toHaveURL(setupUrl);
  await hydrated(page);
  await expect(setup.getByRole('heading', { name: 'Step 3 of 4: Test single sign-on' })).toBeVisible();
  const failed = setup.locator('.last-test.failed');
  await expect(failed).toContainText('Test failed');
  await expect(failed).toContainText("Failed check: The email's domain is a verified domain of this account");
  await expect(failed).toContainText(outsider);
  await screenshot(page, 'setup-3-failed');
  // Step 2 again shows the connection, with the way to its settings.
  await page.goto(`${setupUrl}?step=2`);
  await expect(setup).toContainText('Connected to localhost.');
});
