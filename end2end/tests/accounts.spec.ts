import {
  test, expect, PASSWORD, uniqueEmail, hydrated, signUp, signIn, signOut, screenshot, pageShownAgain,
} from './helpers';
import { takeLink } from './mail';

test.beforeEach(async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
});

test('sign up, sign out, sign in, and a wrong password', async ({ page }) => {
  const email = uniqueEmail('owner');
  await page.goto('/sign-in');
  await screenshot(page, 'sign-in');
  await signUp(page, email);
  await page.getByRole('link', { name: 'Overview', exact: true }).first().click();
  // Named after the email's domain (acme.example).
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Acme');
  await expect(page.locator('.topbar')).toContainText(email);
  await screenshot(page, 'overview');

  await signOut(page);
  // The session is gone on the server: the dashboard now asks to sign in again.
  await page.goto('/');
  await expect(page).toHaveURL(/\/sign-in/);

  await signIn(page, email, 'not the password at all');
  await expect(page.locator('[data-error-for="password"]')).toHaveText('Email or password is incorrect.');
  await expect(page).toHaveURL(/\/sign-in/);

  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/accounts\/[0-9a-f-]{36}$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Acme');
});

test('sign-up explains what is wrong next to the field', async ({ page }) => {
  await page.goto('/sign-up');
  await hydrated(page);
  await page.getByLabel('Work email').fill(uniqueEmail('weak'));
  await page.getByLabel('Password').fill('password1234');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.locator('[data-error-for="password"]')).toContainText('too common');
  await screenshot(page, 'sign-up-error');
});

test('a signed-out visitor is sent to sign in and comes back afterwards', async ({ page }) => {
  const email = uniqueEmail('returner');
  await signUp(page, email);
  const accountUrl = new URL(page.url()).pathname.replace(/\/sso\/setup$/, '');
  await signOut(page);
  await page.goto(`${accountUrl}/members`);
  await expect(page).toHaveURL(new RegExp(`/sign-in\\?next=${accountUrl.replace(/\//g, '\\/')}\\/members`));
  await hydrated(page);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(new RegExp(`${accountUrl}/members$`));
});

test('the owner invites a viewer, the viewer cannot reach owner-only pages, the owner changes the role', async ({ page, browser }) => {
  const owner = uniqueEmail('owner');
  const viewer = uniqueEmail('viewer');
  await signUp(page, owner);
  const accountPath = new URL(page.url()).pathname.replace(/\/sso\/setup$/, '');

  await page.getByRole('link', { name: 'Members', exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`${accountPath}/members$`));
  await hydrated(page);
  await page.getByLabel('Email', { exact: true }).fill(viewer);
  await page.getByLabel('Role', { exact: true }).selectOption('viewer');
  await page.getByRole('button', { name: 'Create invitation' }).click();
  const link = await page.locator('#invitation-link').inputValue();
  expect(link).toMatch(/\/invitations\/[A-Za-z0-9_-]{43}$/);
  await expect(page.locator('#invitations').getByRole('cell', { name: viewer })).toBeVisible();
  await screenshot(page, 'members-invited');
  await page.reload();
  await expect(page.locator('#invitations').getByRole('cell', { name: viewer })).toBeVisible();

  // A second invitation, withdrawn: its row disappears and stays gone.
  await hydrated(page);
  const withdrawn = uniqueEmail('withdrawn');
  await page.getByLabel('Email', { exact: true }).fill(withdrawn);
  await page.getByRole('button', { name: 'Create invitation' }).click();
  const withdrawnRow = page.locator('#invitations tr', { hasText: withdrawn });
  await expect(withdrawnRow).toBeVisible();
  await withdrawnRow.getByRole('button', { name: 'Revoke' }).click();
  await expect(withdrawnRow).toHaveCount(0);
  await page.reload();
  await expect(page.locator('#invitations tr', { hasText: withdrawn })).toHaveCount(0);

  // The invited person, in a browser of their own, creates an account through the link and accepts.
  const viewerContext = await browser.newContext();
  const viewerPage = await viewerContext.newPage();
  viewerPage.on('pageerror', (e) => { throw e; });
  await viewerPage.goto(link);
  await expect(viewerPage.getByText('as Viewer')).toBeVisible();
  await viewerPage.getByRole('link', { name: 'Create an account' }).click();
  await hydrated(viewerPage);
  await expect(viewerPage.getByLabel('Work email')).toHaveValue(viewer);
  await viewerPage.getByLabel('Password').fill(PASSWORD);
  await viewerPage.getByRole('button', { name: 'Create account' }).click();
  // Nothing opens before the address is proven: the invitation waits behind the mailed link.
  await expect(viewerPage).toHaveURL(/\/confirm-email\?next=\/invitations\//);
  await expect(viewerPage.getByRole('heading', { name: 'Confirm your email address' })).toBeVisible();
  await expect(viewerPage.locator('.auth-card')).toContainText(`Follow the link we sent to ${viewer} to open your account.`);
  await viewerPage.setViewportSize({ width: 1280, height: 800 });
  await screenshot(viewerPage, 'confirm-email');
  const proofLink = await takeLink(viewer, `${new URL(viewerPage.url()).origin}/confirm-email/`);
  await viewerPage.goto(proofLink);
  await hydrated(viewerPage);
  await expect(viewerPage.locator('.auth-card')).toContainText(`Confirm that ${viewer} is your address.`);
  await screenshot(viewerPage, 'prove-email');
  await viewerPage.getByRole('button', { name: 'Confirm my address' }).click();
  await expect(viewerPage).toHaveURL(/\/invitations\//);
  await hydrated(viewerPage);
  await viewerPage.getByRole('button', { name: 'Accept invitation' }).click();
  await expect(viewerPage).toHaveURL(new RegExp(`${accountPath}$`));
  await expect(viewerPage.locator('.account-title .badge')).toHaveText('Viewer');

  // The viewer now belongs to two accounts and switches between them from the top bar.
  await viewerPage.locator('.switcher summary').click();
  await expect(viewerPage.locator('.switcher li')).toHaveCount(2);
  // Both accounts are named after acme.example; the viewer's own is the one they own.
  await viewerPage.locator('.switcher li', { hasText: 'Owner' }).getByRole('link').click();
  await expect(viewerPage.getByRole('heading', { level: 1 })).toHaveText('Acme');
  await expect(viewerPage.locator('.account-title .badge')).toHaveText('Owner');
  await viewerPage.goto(accountPath);

  // The UI offers no settings to a Viewer, and the page itself says why when opened directly.
  await expect(viewerPage.getByRole('link', { name: 'Settings' })).toHaveCount(0);
  await viewerPage.goto(`${accountPath}/settings`);
  await expect(viewerPage.locator('#owner-only')).toContainText('Only the account owner');
  await screenshot(viewerPage, 'settings-viewer');
  await viewerPage.goto(`${accountPath}/members`);
  await expect(viewerPage.getByRole('button', { name: 'Create invitation' })).toHaveCount(0);

  // Calling the owner-only server functions directly, with the Viewer's session, is refused too.
  const accountId = accountPath.split('/').pop()!;
  const direct = await viewerPage.evaluate(async (accountId) => {
    const post = (path: string, body: Record<string, string>) =>
      fetch(path, { method: 'POST', body: new URLSearchParams(body), headers: { Accept: 'application/json' } })
        .then(async (r) => ({ status: r.status, body: await r.text() }));
    return {
      rename: await post('/api/accounts/rename', { account_id: accountId, name: 'Taken over' }),
      invite: await post('/api/accounts/invite', { account_id: accountId, email: 'friend@evil.example', role: 'admin' }),
    };
  }, accountId);
  expect(direct.rename.status).toBe(403);
  expect(direct.rename.body).toContain('Forbidden');
  expect(direct.invite.status).toBe(403);

  // The owner promotes the Viewer to Admin; the change shows for both.
  await page.reload();
  await hydrated(page);
  const row = page.locator(`tr[data-email="${viewer}"]`);
  await row.getByRole('combobox').selectOption('admin');
  // The page shows again from the server after the change; wait for that before reloading.
  const shownAgain = await pageShownAgain(page);
  await row.getByRole('button', { name: 'Save' }).click();
  await shownAgain();
  await expect(page.locator(`tr[data-email="${viewer}"]`).getByRole('combobox')).toHaveValue('admin');
  await page.reload();
  await expect(page.locator(`tr[data-email="${viewer}"]`).getByRole('combobox')).toHaveValue('admin');
  await screenshot(page, 'members-owner');

  // Searching by part of an email narrows the list (it is a plain GET form: it works before any script loads).
  await page.getByLabel('Search by email').fill(viewer.split('@')[0].toUpperCase());
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.locator('#members tbody tr')).toHaveCount(1);
  await expect(page.locator(`tr[data-email="${viewer}"]`)).toBeVisible();
  await expect(page.locator('#member-count')).toHaveText('Showing 1 of 1 matching');
  await page.getByLabel('Search by email').fill('nobody-like-this');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.locator('.panel .empty').first()).toHaveText('No member\'s email contains “nobody-like-this”.');
  await screenshot(page, 'members-search-empty');
  await page.getByRole('link', { name: 'Show all' }).click();
  await expect(page.locator('#members tbody tr')).toHaveCount(2);
  await viewerPage.goto(accountPath);
  await expect(viewerPage.locator('.account-title .badge')).toHaveText('Admin');
  await expect(viewerPage).toHaveTitle(/Gatehouse/);
  await page.goto(`${accountPath}/settings`);
  await screenshot(page, 'settings-owner');

  // Finally the owner removes the member, who then no longer sees the account.
  await page.goto(`${accountPath}/members`);
  await hydrated(page);
  const memberRow = page.locator(`tr[data-email="${viewer}"]`);
  await memberRow.getByText('Remove', { exact: true }).click();
  const shownAfterRemoval = await pageShownAgain(page);
  await memberRow.getByRole('button', { name: 'Remove member' }).click();
  await shownAfterRemoval();
  await expect(page.locator(`tr[data-email="${viewer}"]`)).toHaveCount(0);
  const gone = await viewerPage.goto(accountPath);
  expect(gone?.status()).toBe(404);
  await expect(viewerPage.getByRole('heading', { name: 'Account not available' })).toBeVisible();
  await viewerContext.close();
});

test('unknown paths answer a 404 page', async ({ page }) => {
  const response = await page.goto('/no/such/page');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
});
