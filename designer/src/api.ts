// The designer's JSON API (served by iomtflow; see pipeline/designer/api.hpp). URLs are relative,
// so the page works at "/" (iomtflow designer) and at "/designer/" (iomtflow run).

export interface TemplateProblem {
  severity: "error" | "warning";
  type: string; // the upstream exception name, e.g. InvalidTemplateException
  message: string;
  templateIndex?: number;
  property?: string;
  line?: number;
  column?: number;
}

export interface ValidationReport {
  valid: boolean;
  deviceMapping: { errors: TemplateProblem[] };
  fhirMapping: { errors: TemplateProblem[] };
}

export interface Measurement {
  type: string;
  deviceId: string;
  patientId?: string;
  encounterId?: string;
  correlationId?: string;
  occurrenceTimeUtc: string;
  properties: { name: string; value: string }[];
}

export interface StageError {
  stage: string;
  type: string; // as MedTech reports it, e.g. DeviceNotFoundException
  message: string;
  exception?: string; // the upstream exception class when type is not it
}

// Where identities are resolved (iomt-spec §11): resources standing for the FHIR server, or a
// live server that is only searched.
export interface IdentityRequest {
  mode: string; // Lookup | Create | LookupWithEncounter
  resources?: string;
  serverUrl?: string;
  token?: string;
}

export interface IdentitySummary {
  mode: string;
  source: "empty" | "resources" | "server";
  wouldWrite: string[];
  serverSearches?: number;
}

// What `iomtflow mapping test` prints.
export interface TestResult {
  measurements: Measurement[];
  observations: Record<string, unknown>[];
  errors: StageError[];
  warnings?: { stage: string; message: string }[]; // upstream MappingValidator's per-message warnings
  identity?: IdentitySummary;
}

export interface MessageInput {
  name: string;
  text: string;
  properties?: string;
  systemProperties?: string;
}

export interface Example {
  name: string;
  title: string;
  source: "shared" | "builtin";
  note?: string;
  deviceMapping: string;
  fhirMapping: string;
  messages: { name: string; text: string }[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: Record<string, unknown>,
  ) {
    super(message);
  }
}

async function call<T>(method: "GET" | "POST", url: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { ...init.headers, "Content-Type": "application/json" };
  }
  const res = await fetch(url, init);
  let json: Record<string, unknown>;
  try {
    json = (await res.json()) as Record<string, unknown>;
  } catch {
    throw new ApiError(res.status, `${url}: HTTP ${res.status} without a JSON answer`, {});
  }
  if (!res.ok) {
    const message = typeof json.error === "string" ? json.error : `HTTP ${res.status}`;
    const detail = typeof json.message === "string" ? `: ${json.message}` : "";
    throw new ApiError(res.status, message + detail, json);
  }
  return json as T;
}

export function validate(deviceMapping: string, fhirMapping: string): Promise<ValidationReport> {
  return call("POST", "api/mapping/validate", { deviceMapping, fhirMapping });
}

export function runTest(
  deviceMapping: string,
  fhirMapping: string,
  messages: MessageInput[],
  envelope: boolean,
  identity?: IdentityRequest,
): Promise<TestResult> {
  return call("POST", "api/mapping/test", { deviceMapping, fhirMapping, messages, envelope, identity });
}

export function loadExample(name: string): Promise<Example> {
  return call("GET", `api/examples/${encodeURIComponent(name)}`);
}
