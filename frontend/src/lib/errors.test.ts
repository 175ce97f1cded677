import { afterAll, beforeAll, describe as group, expect, it } from "vitest";
import { ApiError, apiError } from "./api/client";
import { describe, refusalReason } from "./errors";
import { setLocale } from "./i18n/index.svelte";

function problem(status: number, body: Record<string, unknown>): ApiError {
  return apiError(status, "", { type: "about:blank", title: "", status, ...body });
}

group("describe() words a problem in the reader's language", () => {
  beforeAll(() => setLocale("fr"));
  afterAll(() => setLocale("de"));

  it("from its code and params, not the server's English", () => {
    const error = problem(404, {
      detail: "Order 167 does not exist or is not visible to you.",
      code: "order_not_found",
      params: { id: 167 },
    });
    expect(describe(error)).toBe("Le mandat 167 n’existe pas ou ne vous est pas visible.");
  });

  it("names a template's block as the form labels it, with its line", () => {
    const error = problem(422, {
      detail: "Greeting, line 2: unknown placeholder 'order.numbr'.",
      code: "template_unknown_placeholder",
      params: { block: "greeting", line: 2, placeholder: "order.numbr" },
      field: "greeting",
    });
    expect(describe(error)).toBe(
      "Formule d’appel, ligne 2 : le champ variable « order.numbr » n’existe pas. " +
        "Choisissez-le dans la liste des champs variables.",
    );
  });

  it("leaves the line out when the server knows none", () => {
    const error = problem(422, {
      detail: "Subject is longer than 2000 characters.",
      code: "template_too_long",
      params: { block: "subject", max: 2000 },
      field: "subject",
    });
    expect(describe(error)).toBe("Objet dépasse 2\u202f000 caractères ; raccourcissez le texte.");
  });

  it("shows the field a form names with the form's label", () => {
    const error = problem(422, {
      detail: "The subject contains a line break; remove it.",
      code: "unsafe_header",
      params: {},
      field: "subject",
    });
    expect(describe(error)).toBe("« Objet » contient un retour à la ligne ou un caractère de contrôle ; retirez-le.");
  });

  it("falls back to the server's words for a code it does not know", () => {
    const error = problem(409, { detail: "Something new happened.", code: "something_new", params: {} });
    expect(describe(error)).toBe("Something new happened.");
  });

  it("says the connection failed when there was no answer", () => {
    expect(describe(new ApiError(0, "network error"))).toBe(
      "Pas de connexion au serveur. Vérifiez la connexion et réessayez.",
    );
  });

  it("words a policy's refusal, with the roles it names", () => {
    expect(refusalReason({ allowed: false, reason: "…", code: "not_responsible", params: {} })).toBe(
      "Vous n’êtes pas responsable de ce mandat et n’êtes ni à la planification ni à la coordination.",
    );
    expect(
      refusalReason({ allowed: false, reason: "…", code: "role_required", params: { roles: "coordinator,backoffice" } }),
    ).toBe("Il faut pour cela le rôle Coordination / Back-office.");
  });
});
