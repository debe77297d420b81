// The shared fixtures, imported for the unit tests (see test/fixtures.mjs).
import curves from "../fixtures/curves.json";
import formula from "../fixtures/formula.json";
import graph from "../fixtures/graph.json";
import has_data from "../fixtures/has_data.json";
import inspector from "../fixtures/inspector.json";
import library from "../fixtures/library.json";
import metrics from "../fixtures/metrics.json";
import protocol from "../fixtures/protocol.json";
import status from "../fixtures/status.json";
import versions from "../fixtures/versions.json";
// @ts-ignore plain JS helper
import { fixtureState as build } from "../fixtures.mjs";
import type { ProtocolTable } from "../../src/types";

export const FIXTURES = { graph, curves, metrics, formula, versions, inspector, status, library, has_data, protocol };
export const PROTOCOL = protocol as unknown as ProtocolTable;

/** Trait state of the real widget the fixtures come from. */
export function fixtureState(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return build(FIXTURES, overrides);
}
