/**
 * The back-office's templates by kind, then by language, in the order the screens list them
 * (the server's order, by name, within each); only those the list's filters let through.
 */
import { TEMPLATE_KINDS, TEMPLATE_LANGUAGES, type Template, type TemplateKind } from "../../lib/api";

export interface TemplateGroup {
  kind: TemplateKind;
  count: number;
  languages: { language: string; templates: Template[] }[];
}

export function groupTemplates(
  templates: readonly Template[],
  kind: TemplateKind | null,
  language: string | null,
): TemplateGroup[] {
  const shown = templates.filter((x) => (!kind || x.kind === kind) && (!language || x.language === language));
  const languages = [...new Set<string>([...TEMPLATE_LANGUAGES, ...shown.map((x) => x.language)])];
  return TEMPLATE_KINDS.map((k) => {
    const ofKind = shown.filter((x) => x.kind === k);
    return {
      kind: k,
      count: ofKind.length,
      languages: languages
        .map((l) => ({ language: l, templates: ofKind.filter((x) => x.language === l) }))
        .filter((part) => part.templates.length > 0),
    };
  }).filter((group) => group.count > 0);
}
