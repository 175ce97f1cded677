import { describe, expect, it } from "vitest";
import { NO_MAIL_FILTERS, href, parse, type Route } from "./routes";

describe("routes", () => {
  const routes: Route[] = [
    { name: "orders", q: "4711", status: "in_progress", page: 2 },
    { name: "order", orderId: 12 },
    { name: "orderNew" },
    { name: "orderEdit", orderId: 12 },
    { name: "compose", orderId: 12, templateId: 3 },
    { name: "draft", orderId: 12, draftId: 5 },
    { name: "mail", ...NO_MAIL_FILTERS },
    {
      name: "mail",
      status: "bounced",
      kind: "work_report",
      from: "2026-10-01",
      to: "2026-10-31",
      client: 4,
      order: "2026-",
      recipient: "meier",
      author: 9,
      unanswered: true,
      sort: "order_number_desc",
    },
    { name: "mailEntry", emailId: 45 },
    { name: "notifications" },
    { name: "clients", q: "", inactive: false },
    { name: "clients", q: "Lindenhof Zürich", inactive: true },
    { name: "client", clientId: 4 },
    { name: "templates", kind: null, language: null },
    { name: "templates", kind: "work_report", language: "fr" },
    { name: "template", templateId: null },
    { name: "template", templateId: 7 },
    { name: "employees" },
    { name: "company" },
    { name: "changes", page: 3 },
    { name: "tokens" },
    { name: "imports" },
    { name: "import", importId: 5 },
    { name: "webhooks" },
    { name: "retention" },
    { name: "webhook", endpointId: 3 },
    { name: "account" },
    { name: "setPassword", token: "Ab-3_x.y~z+/=" },
    { name: "setPassword", token: "" },
  ];

  for (const route of routes) {
    it(`${href(route)} reads back as the same route`, () => {
      expect(parse(href(route))).toEqual(route);
    });
  }

  it("reads the emailed link's token as the server writes it (percent-encoded)", () => {
    // organisatrice/mail/account_links.py: quote(secret, safe="")
    expect(parse("#/set-password?token=abc%2Bdef%2F%3D")).toEqual({ name: "setPassword", token: "abc+def/=" });
  });

  it("leaves defaults out of the address", () => {
    expect(href({ name: "mail", ...NO_MAIL_FILTERS })).toBe("#/mail");
    expect(href({ name: "orders", q: "", status: null, page: 1 })).toBe("#/orders");
    expect(href({ name: "clients", q: "", inactive: false })).toBe("#/clients");
    expect(href({ name: "templates", kind: null, language: null })).toBe("#/admin/templates");
  });

  it("drops what it does not know instead of failing", () => {
    expect(parse("#/mail?status=lost&kind=x&from=yesterday&client=-1&sort=random")).toEqual({
      name: "mail",
      ...NO_MAIL_FILTERS,
    });
    expect(parse("#/mail/abc").name).toBe("notFound");
    expect(parse("#/admin/nothing").name).toBe("notFound");
    expect(parse("#/").name).toBe("orders");
    expect(parse("#/clients/0").name).toBe("notFound");
    expect(parse("#/clients/4/more").name).toBe("notFound");
    expect(parse("#/orders/new/edit").name).toBe("notFound");
    expect(parse("#/orders/12/edit/2").name).toBe("notFound");
    expect(parse("#/admin/tokens/3").name).toBe("notFound");
    expect(parse("#/admin/imports/x").name).toBe("notFound");
    expect(parse("#/account/more").name).toBe("notFound");
    expect(parse("#/set-password/x").name).toBe("notFound");
    expect(parse(`#/set-password?token=${"a".repeat(300)}`)).toEqual({ name: "setPassword", token: "a".repeat(200) });
    expect(parse("#/clients?inactive=yes")).toEqual({ name: "clients", q: "", inactive: false });
    expect(parse("#/admin/templates?kind=letter&language=es")).toEqual({ name: "templates", kind: null, language: null });
  });
});
