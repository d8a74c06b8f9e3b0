/**
 * SMS encoding and segment counting (3GPP TS 23.038, formerly GSM 03.38).
 *
 * A port of sms_mailing/tools/segments.py: same tables, same rules, same
 * figures. Both are checked against one table of cases,
 * sms_mailing/static/tests/segment_cases.json (pytest and a Hoot unit test):
 * a new case goes there. GSM-7 when every character is in the default
 * alphabet or its extension table, else UCS-2. One part holds 160 septets / 70
 * UTF-16 units, each part of several 153 / 67. An extension character costs two
 * septets (ESC + code) and the pair is never split across parts; a character
 * outside the BMP costs two units and the surrogate pair is never split. A
 * newline is one septet (0x0A).
 */

export const GSM7 = "GSM-7";
export const UCS2 = "UCS-2";

// Index = septet value; 0x1B is ESC, not a character a text can hold.
export const GSM7_BASIC =
    "@£$¥èéùìòÇ\nØø\rÅå" +
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ" +
    " !\"#¤%&'()*+,-./" +
    "0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNO" +
    "PQRSTUVWXYZÄÖÑÜ§" +
    "¿abcdefghijklmno" +
    "pqrstuvwxyzäöñüà";

// Sent as ESC (0x1B) + code: two septets.
export const GSM7_EXTENSION = Object.freeze({
    "\f": 0x0a,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2f,
    "[": 0x3c,
    "~": 0x3d,
    "]": 0x3e,
    "|": 0x40,
    "€": 0x65,
});

const LIMITS = { [GSM7]: [160, 153], [UCS2]: [70, 67] };
const EXTENSION_CHARS = new Set(Object.keys(GSM7_EXTENSION));
const GSM7_CHARS = new Set([...GSM7_BASIC.replace("\x1b", ""), ...EXTENSION_CHARS]);

const gsm7Cost = (char) => (EXTENSION_CHARS.has(char) ? 2 : 1);
// `for...of` yields code points: a surrogate pair is one string of length 2.
const ucs2Cost = (char) => char.length;

/**
 * @param {string} text
 * @returns {boolean} whether every character of `text` can be sent in GSM-7
 */
export function isGsm7(text) {
    for (const char of text) {
        if (!GSM7_CHARS.has(char)) {
            return false;
        }
    }
    return true;
}

/**
 * @param {string} text
 * @returns {{encoding: string, length: number, parts: number,
 *            partLimit: number, remaining: number, chars: number}}
 *  `length` in septets (GSM-7) or UTF-16 units (UCS-2), `parts` 0 for an empty
 *  text, `partLimit` the capacity per part that applies (160/153 or 70/67),
 *  `remaining` what is left in the last part, `chars` the code points.
 */
export function analyze(text) {
    const encoding = isGsm7(text) ? GSM7 : UCS2;
    const cost = encoding === GSM7 ? gsm7Cost : ucs2Cost;
    const [single, multi] = LIMITS[encoding];
    let length = 0;
    let chars = 0;
    for (const char of text) {
        length += cost(char);
        chars++;
    }
    if (length <= single) {
        const parts = chars ? 1 : 0;
        return { encoding, length, parts, partLimit: single, remaining: single - length, chars };
    }
    // Pack part by part: a 2-unit character that does not fit starts the next part.
    let parts = 1;
    let used = 0;
    for (const char of text) {
        const units = cost(char);
        if (used + units > multi) {
            parts++;
            used = 0;
        }
        used += units;
    }
    return { encoding, length, parts, partLimit: multi, remaining: multi - used, chars };
}
