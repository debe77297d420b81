// Trait state of a real widget from the shared fixtures (js/test/fixtures/*.json, written by
// tests/widget/test_fixtures.py from a trained [2,3,1] KAN). Plain ESM with no Node imports: the unit
// tests import the JSON, the browser pages fetch it (`loadFixtures`).

export const FIXTURE_NAMES = ["graph", "curves", "metrics", "formula", "versions", "inspector", "status", "library", "has_data", "protocol"];

/** DataView over the bytes of a {"base64", "bytes"} fixture (as anywidget hands Bytes traits to the view). */
export function bytesOf(blob) {
  const bin = atob(blob.base64);
  const out = new Uint8Array(bin.length);
  for (let k = 0; k < bin.length; k++) out[k] = bin.charCodeAt(k);
  return new DataView(out.buffer);
}

/** The full trait state from the fixture objects by name; `overrides` replace traits. */
export function fixtureState(fixtures, overrides = {}) {
  const state = { error: "" };
  for (const name of FIXTURE_NAMES) {
    const v = fixtures[name];
    state[name] = name === "curves" || name === "metrics" ? bytesOf(v) : structuredClone(v);
  }
  return { ...state, ...overrides };
}

/** Browser pages: fetch every fixture from /js/test/fixtures/. */
export async function loadFixtures(base = "/js/test/fixtures/") {
  const entries = await Promise.all(FIXTURE_NAMES.map(async (n) => [n, await (await fetch(`${base}${n}.json`)).json()]));
  return Object.fromEntries(entries);
}
