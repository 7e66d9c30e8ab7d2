import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The records file the loopback DNS server (test-dns) re-reads whenever it changes. */
const recordsFile = join(process.env.GATEHOUSE_E2E_DIR ?? '.', 'dns-records.json');

type Records = Record<string, { txt?: string[][]; cname?: string }>;

function read(): Records {
  try {
    return JSON.parse(readFileSync(recordsFile, 'utf8')) as Records;
  } catch {
    return {};
  }
}

/** Publishes TXT records at `name` (replacing its earlier ones), as an owner would at their DNS provider. */
export async function publishTxt(name: string, values: string[]) {
  const records = read();
  records[name] = { txt: values.map((v) => [v]) };
  // Write beside and rename, so the server never reads half a file.
  const temporary = `${recordsFile}.tmp`;
  writeFileSync(temporary, JSON.stringify(records));
  renameSync(temporary, recordsFile);
  // The server polls every 50 ms.
  await new Promise((resolve) => setTimeout(resolve, 250));
}
