import { expect, test } from "@odoo/hoot";

import { analyze } from "@sms_mailing/components/sms_segment_text/segments";

/**
 * The widget's counter (segments.js) against the table of cases that the
 * pytest suite also checks tools/segments.py with (tests/test_segments.py):
 * both counters give the same figures for every text of
 * sms_mailing/static/tests/segment_cases.json. Run by
 * sms_mailing/tests/test_js_unit.py (make test).
 */
const CASES_URL = "/sms_mailing/static/tests/segment_cases.json";

/** A case's text: a string, or pieces (a string, or [string, n] repeated). */
function caseText(text) {
    if (typeof text === "string") {
        return text;
    }
    return text.map((piece) => (typeof piece === "string" ? piece : piece[0].repeat(piece[1]))).join("");
}

test("segments.js counts every shared segment case as tools/segments.py does", async () => {
    // A JSON module, not fetch(): Hoot answers fetch() only when a test mocks it.
    const { cases } = (await import(CASES_URL, { with: { type: "json" } })).default;
    expect(cases.length).toBeGreaterThan(20);
    for (const item of cases) {
        const info = analyze(caseText(item.text));
        expect({
            encoding: info.encoding,
            parts: info.parts,
            length: info.length,
            characters: info.chars,
            remaining: info.remaining,
        }).toEqual(
            {
                encoding: item.encoding,
                parts: item.parts,
                length: item.length,
                characters: item.characters,
                remaining: item.remaining,
            },
            { message: item.note }
        );
    }
});
