import { Page } from '@playwright/test';
import { expect } from './helpers';

// The test IdP (testkit/saml-idp, pysaml2) runs on `localhost`, another site than Gatehouse on `127.0.0.1`, so its
// POST to the ACS is cross-site exactly as a real IdP's is. Tests talk to its admin endpoints over 127.0.0.1.
export const idpPort = Number(process.env.GATEHOUSE_E2E_IDP_PORT ?? 3919);
export const idpAdmin = `http://127.0.0.1:${idpPort}`;
export const IDP_PASSWORD = 'idp password';

export async function idpPost(path: string, body: string) {
  const response = await fetch(`${idpAdmin}${path}`, { method: 'POST', body });
  expect(response.status, await response.text()).toBe(204);
}

/** Creates or replaces a user at the IdP, with the attributes its assertions will carry. */
export async function idpUser(email: string, attributes: Record<string, string[]>) {
  await idpPost('/admin/users', JSON.stringify({ email, password: IDP_PASSWORD, attributes }));
}

/** Registers a connection's SP metadata at the IdP: the IdP administrator's half of the set-up. */
export async function idpTrustsSp(page: Page, spMetadataUrl: string) {
  await idpPost('/admin/sp', await (await page.request.get(spMetadataUrl)).text());
}

/** At the IdP's login page (on `localhost`), signs in as `email`; the IdP then posts its answer to the ACS. */
export async function signInAtIdp(page: Page, email: string) {
  await expect(page).toHaveURL(new RegExp(`^http://localhost:${idpPort}/(sso/|start)`));
  await page.getByLabel('IdP email').fill(email);
  await page.getByLabel('IdP password').fill(IDP_PASSWORD);
  await page.getByRole('button', { name: 'Sign in to the IdP' }).click();
}
