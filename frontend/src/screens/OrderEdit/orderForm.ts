/** The order's own fields as a form holds them, and what the API takes from them. */
import type { OrderDetail, OrderIn, OrderStatus } from "../../lib/api";

export interface OrderForm {
  number: string;
  title: string;
  status: OrderStatus;
  start_date: string;
  end_date: string;
  description: string;
  remarks: string;
}

export const ORDER_FIELDS = ["number", "title", "status", "start_date", "end_date", "description", "remarks"] as const;

export function blankOrder(number = ""): OrderForm {
  return { number, title: "", status: "planned", start_date: "", end_date: "", description: "", remarks: "" };
}

export function formOf(order: OrderDetail): OrderForm {
  return {
    number: order.number,
    title: order.title,
    status: order.status,
    start_date: order.start_date ?? "",
    end_date: order.end_date ?? "",
    description: order.description,
    remarks: order.remarks,
  };
}

/** The fields as the API takes them: an empty date is no date. */
export function orderIn(form: OrderForm): OrderIn {
  return {
    number: form.number.trim(),
    title: form.title.trim(),
    status: form.status,
    start_date: form.start_date || null,
    end_date: form.end_date || null,
    description: form.description,
    remarks: form.remarks,
  };
}

/** The end before the start: refused by the server too, said at once here. */
export function endsBeforeStart(form: Pick<OrderForm, "start_date" | "end_date">): boolean {
  return !!form.start_date && !!form.end_date && form.end_date < form.start_date;
}

/** The number after `last` ("2026-0412" → "2026-0413", "A-99" → "A-100"); "" when `last` does
 * not end in digits. */
export function nextNumber(last: string | null | undefined): string {
  const match = /^(.*?)(\d+)$/.exec(last ?? "");
  if (!match) return "";
  const [, prefix = "", digits = ""] = match;
  const next = String(Number(digits) + 1).padStart(digits.length, "0");
  return `${prefix}${next}`;
}
