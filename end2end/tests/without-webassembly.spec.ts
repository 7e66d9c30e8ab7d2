import { test, expect, uniqueEmail, signUp, shotDir } from './helpers';

// A form sent without WebAssembly is a plain post: the server sends the browser back to the page, with the error
// (if any) in the address, and the page shows it.
test('without WebAssembly a refused form says why at the top of the page it came back to', async ({ page, browser }) => {
  await signUp(page, uniqueEmail('owner'));
  const accountId = new URL(page.url()).pathname.split('/')[2];
  const origin = new URL(page.url()).origin;
  const storageState = await page.context().storageState();
  const context = await browser.newContext({ javaScriptEnabled: false, storageState, viewport: { width: 1280, height: 800 } });
  const plain = await context.newPage();
  await plain.goto(`${origin}/accounts/${accountId}/sso/domains`);
  await expect(plain.locator('body')).not.toHaveAttribute('data-hydrated');

  await plain.getByLabel('Domain', { exact: true }).fill('not a domain');
  await plain.getByRole('button', { name: 'Add domain' }).click();
  await expect(plain).toHaveURL(/__err=/);
  const shown = plain.locator('#returned-error [role="alert"]');
  await expect(shown).toContainText('Enter the domain only, for example example.com');
  // The accessibility check runs a script, which this page cannot: a screenshot only.
  await plain.screenshot({ path: `${shotDir}/returned-error-laptop.png`, fullPage: true });
  const refusedAt = plain.url();

  // A valid domain is added; the address no longer carries the old error, and nothing shows it.
  const domain = `plain-${Date.now().toString(36)}.example`;
  await plain.getByLabel('Domain', { exact: true }).fill(domain);
  await plain.getByRole('button', { name: 'Add domain' }).click();
  await expect(plain.locator('#domain-table')).toContainText(domain);
  await expect(plain).not.toHaveURL(/__err=/);
  await expect(plain.locator('#returned-error')).toHaveCount(0);

  // The same address opened from anywhere but this site (a link in a mail, typed in) shows no error: the words
  // in it are whoever made the link's.
  const elsewhere = await context.newPage();
  await elsewhere.goto(refusedAt);
  await expect(elsewhere.locator('#domain-table')).toContainText(domain);
  await expect(elsewhere.locator('#returned-error')).toHaveCount(0);
  await context.close();

  // Nor when this site itself opens the address from another of its pages (as it opens a path given to the sign-in
  // page): only the redirect back to the page the form was on carries the error.
  await page.goto(`${origin}/accounts/${accountId}`);
  await page.evaluate((address) => { window.location.href = address; }, refusedAt);
  await expect(page).toHaveURL(/__err=/);
  await expect(page.locator('#domain-table')).toContainText(domain);
  await expect(page.locator('#returned-error')).toHaveCount(0);
});
