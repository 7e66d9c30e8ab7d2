import { defineConfig } from '@playwright/test';

// The server under test is started by Playwright from the release binary that `scripts/test.sh` built,
// on a fresh SQLite database in a temporary directory, with its DNS lookups going to a loopback DNS server
// that serves the records tests write into `dns-records.json` (see tests/dns.ts), and its mail going to a loopback
// SMTP server whose Maildir tests read (see tests/mail.ts).
const port = Number(process.env.GATEHOUSE_E2E_PORT ?? 3917);
const baseURL = `http://127.0.0.1:${port}`;
const binary = process.env.GATEHOUSE_BIN;
if (!binary) throw new Error('GATEHOUSE_BIN must name the gatehouse release binary (scripts/test.sh sets it)');
const testDns = process.env.TEST_DNS_BIN;
if (!testDns) throw new Error('TEST_DNS_BIN must name the test-dns binary (scripts/test.sh sets it)');
const dnsPort = Number(process.env.GATEHOUSE_E2E_DNS_PORT ?? 3918);
const idpPort = Number(process.env.GATEHOUSE_E2E_IDP_PORT ?? 3919);
const smtpPort = Number(process.env.GATEHOUSE_E2E_SMTP_PORT ?? 3920);
const workDir = process.env.GATEHOUSE_E2E_DIR;
if (!workDir) throw new Error('GATEHOUSE_E2E_DIR must name a fresh temporary directory (scripts/test.sh sets it)');

export default defineConfig({
  testDir: './tests',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 30_000,
  reporter: [['list']],
  outputDir: './test-results',
  use: {
    baseURL,
    browserName: 'chromium',
    headless: true,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
    trace: 'off',
    screenshot: 'only-on-failure',
  },
  webServer: [
    {
      command: `${testDns} --listen 127.0.0.1:${dnsPort} --records ${workDir}/dns-records.json`,
      port: dnsPort,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: 'pipe',
      stderr: 'pipe',
    },
    {
      // The SAML IdP (pysaml2, Debian's python3-pysaml2) users sign in at; see testkit/saml-idp/idp.py.
      command: `/usr/bin/python3 ../testkit/saml-idp/idp.py --listen 127.0.0.1:${idpPort}`,
      url: `http://127.0.0.1:${idpPort}/metadata`,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: 'pipe',
      stderr: 'pipe',
    },
    {
      // The SMTP server the product mails through; tests read the Maildir it delivers into (tests/mail.ts).
      command: `python3 -m aiosmtpd -n -l 127.0.0.1:${smtpPort} -c aiosmtpd.handlers.Mailbox ${workDir}/mail`,
      port: smtpPort,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: 'pipe',
      stderr: 'pipe',
    },
    {
    command: binary,
    url: `${baseURL}/readyz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      GATEHOUSE_LISTEN: `127.0.0.1:${port}`,
      GATEHOUSE_PUBLIC_URL: baseURL,
      DATABASE_URL: `sqlite://${workDir}/gatehouse.sqlite`,
      LEPTOS_SITE_ROOT: process.env.LEPTOS_SITE_ROOT ?? '../target/site',
      GATEHOUSE_DNS_SERVERS: `127.0.0.1:${dnsPort}`,
      GATEHOUSE_DNS_TIMEOUT_SECONDS: '2',
      // Domains due for their background check are picked up within seconds (the guided setup test waits for one).
      GATEHOUSE_DOMAIN_CHECK_TICK_SECONDS: '5',
      GATEHOUSE_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      // The browser tests' IdP serves its metadata over plain http on loopback.
      GATEHOUSE_METADATA_ALLOW_HTTP: 'true',
      GATEHOUSE_METADATA_ALLOW_PRIVATE_ADDRESSES: 'true',
      RUST_LOG: 'warn',
    },
    },
  ],
});
