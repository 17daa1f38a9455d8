/**
 * supabase/functions/leads/mapping.ts: header spellings → lead fields, the mobile-first
 * phone choice, and validation of a client's mapping.
 */
import assert from "node:assert/strict";
import {
  LEAD_FIELDS,
  type LeadField,
  normalizeHeader,
  suggestMapping,
  validateMapping,
} from "../supabase/functions/leads/mapping.ts";

Deno.test("LEAD_FIELDS: the fields an import can fill, in order", () => {
  assert.deepEqual([...LEAD_FIELDS], [
    "phone",
    "first_name",
    "last_name",
    "email",
    "address",
    "city",
    "state",
    "zip",
    "tags",
    "consent_source",
    "consent_at",
  ]);
});

Deno.test("normalizeHeader: case, spaces and punctuation do not matter", () => {
  assert.equal(normalizeHeader(" E-Mail Address "), "emailaddress");
  assert.equal(normalizeHeader("State/Province"), "stateprovince");
  assert.equal(normalizeHeader("zip_code"), "zipcode");
  assert.equal(normalizeHeader("Prénom"), "prenom");
});

/** Each spelling alone in a file maps to the field. */
const SPELLINGS: [string, LeadField][] = [
  ["Phone", "phone"],
  ["Phone Number", "phone"],
  ["phone_number", "phone"],
  ["PHONE #", "phone"],
  ["Mobile", "phone"],
  ["Mobile Phone", "phone"],
  ["MobilePhone", "phone"],
  ["Mobile Number", "phone"],
  ["Cell", "phone"],
  ["Cell Phone", "phone"],
  ["Cellphone", "phone"],
  ["Telephone", "phone"],
  ["Tel", "phone"],
  ["Tel.", "phone"],
  ["Primary Phone", "phone"],
  ["Contact Number", "phone"],
  ["Phone 1", "phone"],
  ["Phone (Mobile)", "phone"],
  ["First", "first_name"],
  ["First Name", "first_name"],
  ["firstname", "first_name"],
  ["first_name", "first_name"],
  ["Given Name", "first_name"],
  ["FName", "first_name"],
  ["Contact First Name", "first_name"],
  ["Last", "last_name"],
  ["Last Name", "last_name"],
  ["Surname", "last_name"],
  ["Family Name", "last_name"],
  ["LName", "last_name"],
  ["Email", "email"],
  ["E-mail", "email"],
  ["Email Address", "email"],
  ["E-Mail Address", "email"],
  ["Address", "address"],
  ["Street", "address"],
  ["Street Address", "address"],
  ["Address 1", "address"],
  ["Address Line 1", "address"],
  ["Mailing Address", "address"],
  ["City", "city"],
  ["Town", "city"],
  ["Mailing City", "city"],
  ["State", "state"],
  ["ST", "state"],
  ["Province", "state"],
  ["State/Province", "state"],
  ["Zip", "zip"],
  ["ZIP", "zip"],
  ["Zip Code", "zip"],
  ["Zipcode", "zip"],
  ["Postal", "zip"],
  ["Postal Code", "zip"],
  ["Postcode", "zip"],
  ["ZIP/Postal Code", "zip"],
  ["Tags", "tags"],
  ["Labels", "tags"],
  ["Lists", "tags"],
  ["Groups", "tags"],
  ["Consent Source", "consent_source"],
  ["Opt-in Source", "consent_source"],
  ["Source", "consent_source"],
  ["Lead Source", "consent_source"],
  ["Consent Date", "consent_at"],
  ["Opt-in Date", "consent_at"],
  ["Opted In At", "consent_at"],
  ["Consent Timestamp", "consent_at"],
  ["optin_date", "consent_at"],
];

for (const [header, field] of SPELLINGS) {
  Deno.test(`suggestMapping: "${header}" → ${field}`, () => {
    assert.deepEqual(suggestMapping([header]), { mapping: { [field]: header }, custom_fields: [] });
  });
}

Deno.test("suggestMapping: more than 25 spellings are covered", () => {
  assert.ok(SPELLINGS.length >= 25, String(SPELLINGS.length));
});

Deno.test("suggestMapping: a typical CRM export, unmapped columns become custom fields", () => {
  const headers = [
    "First Name",
    "Last Name",
    "Mobile Phone",
    "E-mail",
    "Street Address",
    "City",
    "ST",
    "Zip Code",
    "Tags",
    "Opt-in Source",
    "Opt-in Date",
    "Notes",
    "Company",
  ];
  assert.deepEqual(suggestMapping(headers), {
    mapping: {
      phone: "Mobile Phone",
      first_name: "First Name",
      last_name: "Last Name",
      email: "E-mail",
      address: "Street Address",
      city: "City",
      state: "ST",
      zip: "Zip Code",
      tags: "Tags",
      consent_source: "Opt-in Source",
      consent_at: "Opt-in Date",
    },
    custom_fields: ["Notes", "Company"],
  });
});

Deno.test("suggestMapping: texts go to mobiles: Mobile beats Phone, Home and Work", () => {
  assert.deepEqual(suggestMapping(["Home Phone", "Mobile", "Work Phone"]), {
    mapping: { phone: "Mobile" },
    custom_fields: ["Home Phone", "Work Phone"],
  });
  assert.equal(suggestMapping(["Phone", "Cell Phone"]).mapping.phone, "Cell Phone");
  assert.equal(suggestMapping(["Home Phone", "Phone"]).mapping.phone, "Phone");
  assert.equal(suggestMapping(["Landline", "Cell"]).mapping.phone, "Cell");
});

Deno.test("suggestMapping: among equals, the first column wins", () => {
  assert.equal(suggestMapping(["Home Phone", "Work Phone"]).mapping.phone, "Home Phone");
  assert.equal(suggestMapping(["Phone 2", "Phone 1"]).mapping.phone, "Phone 1");
});

Deno.test("suggestMapping: a fax, an extension or a phone type is never the phone", () => {
  assert.deepEqual(suggestMapping(["Fax", "Fax Number", "Phone Ext", "Phone Type"]), {
    mapping: {},
    custom_fields: ["Fax", "Fax Number", "Phone Ext", "Phone Type"],
  });
  assert.equal(suggestMapping(["Fax", "Phone"]).mapping.phone, "Phone");
});

Deno.test("suggestMapping: a combined name column is not split; it stays custom", () => {
  assert.deepEqual(suggestMapping(["Name", "Phone"]), {
    mapping: { phone: "Phone" },
    custom_fields: ["Name"],
  });
  assert.deepEqual(suggestMapping(["Full Name", "Cell"]).custom_fields, ["Full Name"]);
});

Deno.test("suggestMapping: an exact spelling beats a prefixed one; each header used once", () => {
  assert.deepEqual(suggestMapping(["Mailing City", "City", "Phone"]), {
    mapping: { phone: "Phone", city: "City" },
    custom_fields: ["Mailing City"],
  });
  assert.deepEqual(suggestMapping(["Email", "Email"]), {
    mapping: { email: "Email" },
    custom_fields: ["Email"],
  });
});

Deno.test("suggestMapping: empty header names are not custom fields", () => {
  assert.deepEqual(suggestMapping(["Phone", "", "  "]), {
    mapping: { phone: "Phone" },
    custom_fields: [],
  });
});

Deno.test("suggestMapping: mapping values are the headers exactly as written", () => {
  assert.deepEqual(suggestMapping([" Phone Number ", "first name"]).mapping, {
    phone: " Phone Number ",
    first_name: "first name",
  });
});

// ─── validateMapping ─────────────────────────────────────────────────────────

const HEADERS = ["Mobile", "First", "Last", "Town", "Notes"];

Deno.test("validateMapping: a usable mapping has no errors", () => {
  assert.deepEqual(validateMapping({ phone: "Mobile", first_name: "First" }, HEADERS), []);
  assert.deepEqual(validateMapping({ phone: "Mobile", city: null, zip: undefined }, HEADERS), []);
});

Deno.test("validateMapping: a phone column is required", () => {
  assert.deepEqual(validateMapping({ first_name: "First" }, HEADERS), [
    {
      path: "mapping.phone",
      message: "no column is mapped to phone: every lead needs a phone number",
    },
  ]);
  assert.deepEqual(validateMapping({ phone: null }, HEADERS), [
    {
      path: "mapping.phone",
      message: "no column is mapped to phone: every lead needs a phone number",
    },
  ]);
});

Deno.test("validateMapping: a header that is not in the file", () => {
  assert.deepEqual(validateMapping({ phone: "Mobile", city: "City" }, HEADERS), [
    { path: "mapping.city", message: 'the file has no column named "City"' },
  ]);
  assert.deepEqual(validateMapping({ phone: "mobile " }, HEADERS), [
    {
      path: "mapping.phone",
      message: 'the file has no column named "mobile " (did you mean "Mobile"?)',
    },
  ]);
});

Deno.test("validateMapping: one header mapped to two fields", () => {
  assert.deepEqual(
    validateMapping({ phone: "Mobile", first_name: "First", last_name: "First" }, HEADERS),
    [
      { path: "mapping.last_name", message: 'column "First" is already mapped to first_name' },
    ],
  );
});

Deno.test("validateMapping: unknown field names are rejected", () => {
  assert.deepEqual(validateMapping({ phone: "Mobile", notes: "Notes" }, HEADERS), [
    {
      path: "mapping.notes",
      message: 'unknown field "notes": the fields are phone, first_name, last_name, email, ' +
        "address, city, state, zip, tags, consent_source, consent_at; other columns are " +
        "imported as custom fields",
    },
  ]);
});

Deno.test("validateMapping: a value that is not a header name", () => {
  assert.deepEqual(validateMapping({ phone: 3 }, HEADERS), [
    { path: "mapping.phone", message: "must be the name of a column in the file, or null" },
  ]);
});

Deno.test("validateMapping: every problem is listed", () => {
  const errors = validateMapping(
    { email: "Mail", city: "Town", zip: "Town", foo: "Notes" },
    HEADERS,
  );
  assert.deepEqual(errors.map((e) => e.path), [
    "mapping.email",
    "mapping.zip",
    "mapping.foo",
    "mapping.phone",
  ]);
});

Deno.test("validateMapping: the suggested mapping of any header list validates", () => {
  for (const headers of [HEADERS, ["Phone", "Cell", "Fax", "Email", "E-mail"], ["Home Phone"]]) {
    assert.deepEqual(validateMapping(suggestMapping(headers).mapping, headers), []);
  }
});
