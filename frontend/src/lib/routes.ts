/**
 * The routes (pure: parse and write addresses; router.svelte.ts follows the address bar).
 *
 * Hash routing: the screen and its state live in the address after "#", so reload, back and
 * a bookmark all land where the person was.
 *
 *   #/orders?q=&status=&page=        the order list
 *   #/orders/new                     a new order (client and building picked or made on the way)
 *   #/orders/12                      an order
 *   #/orders/12/edit                 an order's fields, buildings and responsible employees
 *   #/orders/12/compose/3            a new email from template 3: choose the recipient
 *   #/orders/12/drafts/5             the draft editor
 *   #/mail?status=&kind=&from=…      the sent mail (the archive across orders; unanswered=1: a reply waits)
 *   #/mail/45                        one archived email
 *   #/notifications                  failed or bounced emails
 *   #/clients?q=&inactive=1          the clients (inactive ones too with inactive=1)
 *   #/clients/4                      a client with its buildings and contacts
 *   #/admin/templates?kind=&language=  back-office: the templates, by kind and language
 *   #/admin/templates/new|/7         back-office: a new template, one template
 *   #/admin/employees                back-office: employees
 *   #/admin/company                  back-office: company, relay, limits
 *   #/admin/changes?page=            back-office: the permission change log
 *   #/admin/tokens                   back-office: API tokens
 *   #/admin/retention                back-office: delete archived emails past their retention
 *   #/admin/imports[/5]              back-office: spreadsheet imports, one import
 *   #/admin/webhooks[/3]             back-office: webhook endpoints, one's delivery log
 *   #/account                        my account: my language, change my password, sign out everywhere
 *   #/set-password?token=…           PUBLIC: set a password with an emailed single-use link
 */
import {
  ARCHIVE_KINDS,
  ARCHIVE_SORTS,
  EMAIL_STATUSES,
  ORDER_STATUSES,
  TEMPLATE_KINDS,
  TEMPLATE_LANGUAGES,
  type ArchiveKind,
  type ArchiveSort,
  type EmailStatus,
  type OrderStatus,
  type TemplateKind,
  type TemplateLanguage,
} from "./api";

/** The sent-mail list's filters and sort, as they stand in the address. */
export interface MailQuery {
  status: EmailStatus | null;
  kind: ArchiveKind | null;
  from: string;
  to: string;
  client: number | null;
  order: string;
  recipient: string;
  author: number | null;
  // Only emails with a client's reply nobody took care of yet.
  unanswered: boolean;
  sort: ArchiveSort;
}

export const NO_MAIL_FILTERS: MailQuery = {
  status: null,
  kind: null,
  from: "",
  to: "",
  client: null,
  order: "",
  recipient: "",
  author: null,
  unanswered: false,
  sort: "newest",
};

export type AdminSection =
  | "templates"
  | "employees"
  | "company"
  | "changes"
  | "imports"
  | "tokens"
  | "retention"
  | "webhooks";

export type Route =
  | { name: "orders"; q: string; status: OrderStatus | null; page: number }
  | { name: "order"; orderId: number }
  | { name: "orderNew" }
  | { name: "orderEdit"; orderId: number }
  | { name: "compose"; orderId: number; templateId: number }
  | { name: "draft"; orderId: number; draftId: number }
  | ({ name: "mail" } & MailQuery)
  | { name: "mailEntry"; emailId: number }
  | { name: "notifications" }
  | { name: "clients"; q: string; inactive: boolean }
  | { name: "client"; clientId: number }
  | { name: "templates"; kind: TemplateKind | null; language: TemplateLanguage | null }
  | { name: "template"; templateId: number | null }
  | { name: "employees" }
  | { name: "company" }
  | { name: "changes"; page: number }
  | { name: "tokens" }
  | { name: "retention" }
  | { name: "imports" }
  | { name: "import"; importId: number }
  | { name: "webhooks" }
  | { name: "webhook"; endpointId: number }
  | { name: "account" }
  | { name: "setPassword"; token: string }
  | { name: "notFound" };

function id(text: string | undefined | null): number | null {
  return text && /^[1-9]\d{0,9}$/.test(text) ? Number(text) : null;
}

function oneOf<T extends string>(values: readonly T[], text: string | null): T | null {
  return text !== null && (values as readonly string[]).includes(text) ? (text as T) : null;
}

function day(text: string | null): string {
  return text && /^\d{4}-\d{2}-\d{2}$/.test(text) ? text : "";
}

function mailQuery(query: URLSearchParams): MailQuery {
  return {
    status: oneOf(EMAIL_STATUSES, query.get("status")),
    kind: oneOf(ARCHIVE_KINDS, query.get("kind")),
    from: day(query.get("from")),
    to: day(query.get("to")),
    client: id(query.get("client")),
    order: (query.get("order") ?? "").slice(0, 30),
    recipient: (query.get("recipient") ?? "").slice(0, 254),
    author: id(query.get("author")),
    unanswered: query.get("unanswered") === "1",
    sort: oneOf(ARCHIVE_SORTS, query.get("sort")) ?? "newest",
  };
}

export function parse(hash: string): Route {
  const [path = "", search = ""] = hash.replace(/^#/, "").split("?", 2);
  const parts = path.split("/").filter(Boolean);
  const query = new URLSearchParams(search);
  if (parts.length === 0 || (parts.length === 1 && parts[0] === "orders")) {
    const status = query.get("status") as OrderStatus | null;
    const page = id(query.get("page")) ?? 1;
    return {
      name: "orders",
      q: query.get("q") ?? "",
      status: status && ORDER_STATUSES.includes(status) ? status : null,
      page,
    };
  }
  if (parts[0] === "mail") {
    if (parts.length === 1) return { name: "mail", ...mailQuery(query) };
    const emailId = id(parts[1]);
    if (parts.length === 2 && emailId !== null) return { name: "mailEntry", emailId };
    return { name: "notFound" };
  }
  if (parts[0] === "notifications" && parts.length === 1) return { name: "notifications" };
  if (parts[0] === "account" && parts.length === 1) return { name: "account" };
  if (parts[0] === "set-password" && parts.length === 1) {
    return { name: "setPassword", token: (query.get("token") ?? "").slice(0, 200) };
  }
  if (parts[0] === "clients") {
    if (parts.length === 1) {
      return { name: "clients", q: (query.get("q") ?? "").slice(0, 200), inactive: query.get("inactive") === "1" };
    }
    const clientId = id(parts[1]);
    if (parts.length === 2 && clientId !== null) return { name: "client", clientId };
    return { name: "notFound" };
  }
  if (parts[0] === "admin") {
    const section = parts[1] ?? "templates";
    if (section === "templates") {
      if (parts.length <= 2) {
        return {
          name: "templates",
          kind: oneOf(TEMPLATE_KINDS, query.get("kind")),
          language: oneOf(TEMPLATE_LANGUAGES, query.get("language")),
        };
      }
      if (parts.length === 3 && parts[2] === "new") return { name: "template", templateId: null };
      const templateId = id(parts[2]);
      if (parts.length === 3 && templateId !== null) return { name: "template", templateId };
      return { name: "notFound" };
    }
    const second = id(parts[2]);
    if (parts.length === 3 && second !== null) {
      if (section === "imports") return { name: "import", importId: second };
      if (section === "webhooks") return { name: "webhook", endpointId: second };
    }
    if (parts.length !== 2) return { name: "notFound" };
    if (section === "employees") return { name: "employees" };
    if (section === "company") return { name: "company" };
    if (section === "changes") return { name: "changes", page: id(query.get("page")) ?? 1 };
    if (section === "tokens") return { name: "tokens" };
    if (section === "retention") return { name: "retention" };
    if (section === "imports") return { name: "imports" };
    if (section === "webhooks") return { name: "webhooks" };
    return { name: "notFound" };
  }
  if (parts[0] !== "orders") return { name: "notFound" };
  if (parts.length === 2 && parts[1] === "new") return { name: "orderNew" };
  const orderId = id(parts[1]);
  if (orderId === null) return { name: "notFound" };
  if (parts.length === 2) return { name: "order", orderId };
  if (parts.length === 3 && parts[2] === "edit") return { name: "orderEdit", orderId };
  const second = id(parts[3]);
  if (parts.length === 4 && second !== null) {
    if (parts[2] === "compose") return { name: "compose", orderId, templateId: second };
    if (parts[2] === "drafts") return { name: "draft", orderId, draftId: second };
  }
  return { name: "notFound" };
}

function withQuery(path: string, values: Record<string, string | number | null>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) {
    if (value !== null && value !== "") query.set(name, String(value));
  }
  const search = query.toString();
  return search ? `${path}?${search}` : path;
}

export function href(route: Route): string {
  switch (route.name) {
    case "orders":
      return withQuery("#/orders", {
        q: route.q,
        status: route.status,
        page: route.page > 1 ? route.page : null,
      });
    case "order":
      return `#/orders/${route.orderId}`;
    case "orderNew":
      return "#/orders/new";
    case "orderEdit":
      return `#/orders/${route.orderId}/edit`;
    case "compose":
      return `#/orders/${route.orderId}/compose/${route.templateId}`;
    case "draft":
      return `#/orders/${route.orderId}/drafts/${route.draftId}`;
    case "mail":
      return withQuery("#/mail", {
        status: route.status,
        kind: route.kind,
        from: route.from,
        to: route.to,
        client: route.client,
        order: route.order,
        recipient: route.recipient,
        author: route.author,
        unanswered: route.unanswered ? 1 : null,
        sort: route.sort === "newest" ? null : route.sort,
      });
    case "mailEntry":
      return `#/mail/${route.emailId}`;
    case "notifications":
      return "#/notifications";
    case "clients":
      return withQuery("#/clients", { q: route.q, inactive: route.inactive ? 1 : null });
    case "client":
      return `#/clients/${route.clientId}`;
    case "templates":
      return withQuery("#/admin/templates", { kind: route.kind, language: route.language });
    case "template":
      return `#/admin/templates/${route.templateId ?? "new"}`;
    case "employees":
      return "#/admin/employees";
    case "company":
      return "#/admin/company";
    case "changes":
      return withQuery("#/admin/changes", { page: route.page > 1 ? route.page : null });
    case "tokens":
      return "#/admin/tokens";
    case "retention":
      return "#/admin/retention";
    case "imports":
      return "#/admin/imports";
    case "import":
      return `#/admin/imports/${route.importId}`;
    case "webhooks":
      return "#/admin/webhooks";
    case "webhook":
      return `#/admin/webhooks/${route.endpointId}`;
    case "account":
      return "#/account";
    case "setPassword":
      return withQuery("#/set-password", { token: route.token });
    case "notFound":
      return "#/";
  }
}
