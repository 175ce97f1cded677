/** What the signed-in employee may see, from GET /api/me's permissions (the server decides;
 * this only hides what would be refused anyway). */
import type { Me, Permission } from "./api";
import type { AdminSection, Route } from "./routes";

export function can(me: Me | null | undefined, permission: Permission): boolean {
  return !!me && me.permissions.includes(permission);
}

const SECTION_NEEDS: Record<AdminSection, Permission> = {
  templates: "manage_templates",
  employees: "manage_employees",
  company: "manage_company",
  changes: "view_permission_changes",
  imports: "import_data",
  tokens: "manage_tokens",
  webhooks: "manage_webhooks",
  retention: "manage_archive",
};

export const ADMIN_SECTIONS = Object.keys(SECTION_NEEDS) as AdminSection[];

/** The back-office sections this employee may open, in menu order. */
export function adminSections(me: Me | null | undefined): AdminSection[] {
  return ADMIN_SECTIONS.filter((section) => can(me, SECTION_NEEDS[section]));
}

/** Where a back-office section opens. */
export function adminRoute(section: AdminSection): Route {
  if (section === "changes") return { name: "changes", page: 1 };
  if (section === "templates") return { name: "templates", kind: null, language: null };
  return { name: section };
}
