import { describe, expect, it } from "vitest";
import { unknownPlaceholders } from "./sample";

const examples = new Map([
  ["order.number", "2026-4711"],
  ["order.work_items", "[…]"],
  ["greeting", "Sehr geehrte Frau Meier,"],
]);

describe("the placeholders named as typos while typing", () => {
  it("lists each unknown placeholder once", () => {
    expect(unknownPlaceholders("{{ a.b }} {{ greeting }} {{ a.b }} {{ c }}", examples)).toEqual(["a.b", "c"]);
  });

  it("leaves filters, logic and comments to the server", () => {
    expect(unknownPlaceholders("{% if x %}{{ order.numbr | upper }}{% endif %}{# {{ y }} #}", examples)).toEqual([]);
  });

  it("knows the names a loop binds", () => {
    const source = "{% for w in order.work_items %}{{ loop.index }}. {{ w.description }}{% endfor %}{{ v.x }}";
    expect(unknownPlaceholders(source, examples)).toEqual(["v.x"]);
  });
});
