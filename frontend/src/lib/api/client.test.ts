import { describe, expect, it } from "vitest";
import { ApiError, apiError, call, urlOf } from "./client";

function answer(status: number, body: { data?: unknown; error?: unknown }, statusText = "") {
  return Promise.resolve({ ...body, response: new Response(null, { status, statusText }) });
}

describe("problem+json answers", () => {
  it("carry the server's detail and the field it blames", () => {
    const error = apiError(422, "Unprocessable Content", {
      type: "about:blank",
      title: "Invalid",
      status: 422,
      detail: "Subject, line 1: unknown placeholder 'order.numbr'.",
      field: "subject",
    });
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(422);
    expect(error.message).toBe("Subject, line 1: unknown placeholder 'order.numbr'.");
    expect(error.field).toBe("subject");
  });

  it("blame the first field of a body that did not validate", () => {
    const error = apiError(400, "Bad Request", {
      type: "about:blank",
      title: "Bad Request",
      status: 400,
      detail: "body brand_colour: Expected `str` matching regex",
      errors: [{ message: "Expected `str` matching regex", key: "brand_colour", source: "body" }],
    });
    expect(error.field).toBe("brand_colour");
    const query = apiError(400, "Bad Request", {
      type: "about:blank",
      title: "Bad Request",
      status: 400,
      detail: "query page: Expected `int`",
      errors: [{ message: "Expected `int`", key: "page", source: "query" }],
    });
    expect(query.field).toBeUndefined();
  });

  it("fall back to the title when the detail is empty", () => {
    const error = apiError(409, "Conflict", { type: "x", title: "Changed elsewhere", status: 409, detail: "" });
    expect(error.message).toBe("Changed elsewhere");
  });

  it("keep a plain text answer, or else the status line", () => {
    expect(apiError(502, "Bad Gateway", "  upstream down \n").message).toBe("upstream down");
    expect(apiError(500, "Internal Server Error", undefined).message).toBe("500 Internal Server Error");
    expect(apiError(500, "Internal Server Error", undefined).field).toBeUndefined();
  });
});

describe("call", () => {
  it("answers the data of a good answer", async () => {
    await expect(call(answer(200, { data: { id: 7 } }))).resolves.toEqual({ id: 7 });
  });

  it("throws the problem of a refused one", async () => {
    const refused = call(answer(404, { error: { type: "x", title: "Not found", status: 404, detail: "Order 9 does not exist." } }));
    await expect(refused).rejects.toMatchObject({ status: 404, message: "Order 9 does not exist." });
  });

  it("says status 0 when the server cannot be reached", async () => {
    const offline = call(Promise.reject(new TypeError("Failed to fetch")));
    await expect(offline).rejects.toMatchObject({ status: 0, message: "Failed to fetch" });
  });
});

describe("urlOf", () => {
  it("fills in the path and adds the query it was given", () => {
    expect(urlOf("/api/orders/{order_id}/photos", { order_id: 12 })).toBe("/api/orders/12/photos");
    expect(urlOf("/api/archive/billing", {}, { from: "2026-10-01", to: "2026-10-31", x: "" })).toBe(
      "/api/archive/billing?from=2026-10-01&to=2026-10-31",
    );
  });
});
