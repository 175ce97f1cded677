/** How clients' buildings and contacts are named on the screens. */
import type { Building, Contact, Salutation } from "../../lib/api";
import { t } from "../../lib/i18n/index.svelte";

/** Where a new contact belongs: the client, or one of its buildings. */
export type Owner = { client_id: number } | { building_id: number };

export function salutationLabel(salutation: Salutation): string {
  return t(`salutation.${salutation}`);
}

/** "Frau Silvia Moser"; without a name, the address or "(no name)". */
export function contactName(contact: Pick<Contact, "salutation" | "first_name" | "last_name" | "email">): string {
  const name = [contact.first_name, contact.last_name].filter(Boolean).join(" ");
  if (!name) return contact.email || t("contacts.noName");
  return contact.salutation === "none" ? name : `${salutationLabel(contact.salutation)} ${name}`;
}

/** "Haus A, Gartenstrasse 92, 8001 Zürich" or just the address. */
export function buildingLabel(building: Pick<Building, "name" | "address">): string {
  return building.name ? `${building.name}, ${building.address}` : building.address;
}
