import { TEMPLATE_KINDS, type OrderDetail, type Template } from "./api";

/** The languages an email about this order is likely written in: the client's, then the
 * contacts'. */
export function orderLanguages(order: OrderDetail): string[] {
  const languages = [order.client.language, ...order.recipients.map((r) => r.language)];
  return [...new Set(languages.filter(Boolean))];
}

/** Templates split into those in the order's languages (shown first) and the others.
 * When none match, every template is "suited": better than an empty list. A reply template
 * is not among them: it answers a client's reply, from the reply. */
export function suitedTemplates(
  templates: Template[],
  order: OrderDetail,
): { suited: Template[]; others: Template[] } {
  const languages = orderLanguages(order);
  const sorted = templates.filter((t) => t.kind !== "reply").sort(
    (a, b) =>
      TEMPLATE_KINDS.indexOf(a.kind) - TEMPLATE_KINDS.indexOf(b.kind) ||
      languages.indexOf(a.language) - languages.indexOf(b.language) ||
      a.name.localeCompare(b.name),
  );
  const suited = sorted.filter((t) => languages.includes(t.language));
  if (suited.length === 0) return { suited: sorted, others: [] };
  return { suited, others: sorted.filter((t) => !languages.includes(t.language)) };
}
