/** The current route, following the address bar; see routes.ts for the addresses. */
import { NO_MAIL_FILTERS, href, parse, type Route } from "./routes";

export { NO_MAIL_FILTERS, href, parse } from "./routes";
export type { AdminSection, MailQuery, Route } from "./routes";

export const router = $state<{ route: Route }>({ route: parse(location.hash) });

type OrdersRoute = Extract<Route, { name: "orders" }>;
type MailRoute = Extract<Route, { name: "mail" }>;
type ClientsRoute = Extract<Route, { name: "clients" }>;
type TemplatesRoute = Extract<Route, { name: "templates" }>;
let ordersSeen: OrdersRoute = { name: "orders", q: "", status: null, page: 1 };
let mailSeen: MailRoute = { name: "mail", ...NO_MAIL_FILTERS };
let clientsSeen: ClientsRoute = { name: "clients", q: "", inactive: false };
let templatesSeen: TemplatesRoute = { name: "templates", kind: null, language: null };

/** The order list as last shown (search, filter, page), for "back to the list" links. */
export function lastOrderList(): OrdersRoute {
  return ordersSeen;
}

/** The sent-mail list as last shown (its filters), for "back to the list" links. */
export function lastMailList(): MailRoute {
  return mailSeen;
}

/** The client list as last shown (search, inactive ones or not). */
export function lastClientList(): ClientsRoute {
  return clientsSeen;
}

/** The back-office's template list as last shown (its kind and language). */
export function lastTemplateList(): TemplatesRoute {
  return templatesSeen;
}

function enter(route: Route): void {
  if (route.name === "clients") clientsSeen = route;
  if (route.name === "templates") templatesSeen = route;
  if (route.name === "orders") ordersSeen = route;
  if (route.name === "mail") mailSeen = route;
  router.route = route;
}

enter(router.route);

window.addEventListener("hashchange", () => enter(parse(location.hash)));

/** Go to `route`; `replace` keeps the back button from returning to a passing step. */
export function go(route: Route, { replace = false } = {}): void {
  const target = href(route);
  if (replace) {
    history.replaceState(history.state, "", target);
    enter(parse(target));
  } else {
    location.hash = target;
  }
}

/** A message to show on the next screen ("the email is in the outbox"). */
export const flash = $state<{ message: string }>({ message: "" });
