/**
 * The one HTTP client: openapi-fetch typed by the generated schema.d.ts.
 *
 * It sends the CSRF header on every unsafe request, turns problem+json answers into an
 * ApiError carrying the server's `detail` (meant to be shown to the person), and tells the
 * session when the server says "not signed in".
 */
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];

/** A refusal from the API (status and the server's message), or status 0 when unreachable. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem | null;

  constructor(status: number, detail: string, problem: Problem | null = null) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
  }

  /** The field the server blamed, e.g. "recipients.to" or "version"; for a body that did not
   * validate (a pattern, a range), the first field the validation named. */
  get field(): string | undefined {
    if (this.problem?.field) return this.problem.field;
    const first = this.problem?.errors?.[0] as { source?: unknown; key?: unknown } | undefined;
    return first?.source === "body" && typeof first.key === "string" ? first.key : undefined;
  }
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const CSRF_COOKIE = "csrftoken";

export function csrfToken(): string {
  for (const part of document.cookie.split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === CSRF_COOKIE) return decodeURIComponent(value.join("="));
  }
  return "";
}

export const client = createClient<paths>({ baseUrl: "", credentials: "same-origin" });

const csrf: Middleware = {
  async onRequest({ request }) {
    if (SAFE_METHODS.has(request.method)) return undefined;
    if (!csrfToken()) {
      // Any safe request hands out the cookie; the page load normally did it already.
      await client.GET("/api/health");
    }
    request.headers.set("x-csrftoken", csrfToken());
    return request;
  },
};

type Listener = () => void;
const signedOutListeners = new Set<Listener>();

/** Called when any request (but signing in) answers 401: the session has ended. */
export function onSignedOut(listener: Listener): () => void {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

const session: Middleware = {
  onResponse({ response, schemaPath }) {
    if (response.status === 401 && schemaPath !== "/api/session") {
      for (const listener of signedOutListeners) listener();
    }
    return undefined;
  },
};

client.use(csrf, session);

function isProblem(value: unknown): value is Problem {
  return typeof value === "object" && value !== null && "detail" in value;
}

/** A refused answer as an ApiError: a problem+json body gives its `detail` (or title) and the
 * field it blames; anything else its text, or the status line. */
export function apiError(status: number, statusText: string, error: unknown): ApiError {
  if (isProblem(error)) {
    return new ApiError(status, error.detail || error.title, error);
  }
  const text = typeof error === "string" ? error.trim() : "";
  return new ApiError(status, text || `${status} ${statusText}`.trim());
}

type Paths = keyof paths;

/** The address of `path` with its `{name}` parts filled in and an optional query: for links
 * (downloads) and uploads, which do not go through openapi-fetch. */
export function urlOf(
  path: Paths,
  params: Record<string, string | number> = {},
  query: Record<string, string | number | null | undefined> = {},
): string {
  const filled = path.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? encodeURIComponent(String(params[name])) : whole,
  );
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `${filled}?${text}` : filled;
}

export type UploadProgress = (sent: number, total: number) => void;

/** POST a multipart form with progress (fetch cannot report it): the answer's JSON, or an
 * ApiError as `call` gives. */
export async function upload<T>(
  url: string,
  fields: Record<string, string | Blob>,
  onProgress?: UploadProgress,
): Promise<T> {
  if (!csrfToken()) await client.GET("/api/health");
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  return new Promise<T>((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", url);
    request.withCredentials = true;
    request.setRequestHeader("x-csrftoken", csrfToken());
    request.setRequestHeader("accept", "application/json");
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress?.(event.loaded, event.total);
    };
    request.onerror = () => reject(new ApiError(0, "network error"));
    request.onload = () => {
      let body: unknown = request.responseText;
      try {
        body = JSON.parse(request.responseText);
      } catch {
        // Not JSON: keep the text.
      }
      if (request.status >= 200 && request.status < 300) {
        resolve(body as T);
        return;
      }
      if (request.status === 401) for (const listener of signedOutListeners) listener();
      reject(apiError(request.status, request.statusText, body));
    };
    request.send(form);
  });
}

type Answer = { data?: unknown; error?: unknown; response: Response };

/** The answer's data, or an ApiError with the server's detail. */
export async function call<A extends Answer>(request: Promise<A>): Promise<Exclude<A["data"], undefined>> {
  let answer: A;
  try {
    answer = await request;
  } catch (cause) {
    if (cause instanceof ApiError) throw cause;
    // fetch itself failed: offline, server down, connection dropped.
    throw new ApiError(0, cause instanceof Error ? cause.message : String(cause));
  }
  if (!answer.response.ok) {
    throw apiError(answer.response.status, answer.response.statusText, answer.error);
  }
  return answer.data as Exclude<A["data"], undefined>;
}
