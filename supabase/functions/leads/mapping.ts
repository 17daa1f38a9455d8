/**
 * Which column of an uploaded file feeds which lead field.
 *
 * `suggestMapping` recognises the spellings that spreadsheets, CRMs and list vendors use
 * ("Mobile Phone", "Cell", "E-mail", "Zip Code", "Postal"…); `validateMapping` checks a
 * mapping a client sends back. Pure functions, no I/O, no dependencies beyond the error
 * shape.
 */
import type { FieldError } from "../_shared/errors.ts";

/** The lead fields a column can be mapped to; every other column is a custom field. */
export const LEAD_FIELDS = [
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
] as const;

export type LeadField = typeof LEAD_FIELDS[number];

/** Our field → the file's header name. */
export type LeadMapping = Partial<Record<LeadField, string>>;

export interface SuggestedMapping {
  mapping: LeadMapping;
  /** Names of the non-empty headers no lead field took, in file order. */
  custom_fields: string[];
}

/**
 * A header reduced to what identifies it: lower case, letters and digits only.
 * "E-mail" → "email", "State/Province" → "stateprovince", " Zip_Code " → "zipcode".
 */
export function normalizeHeader(header: string): string {
  return header.normalize("NFKD").toLowerCase().replace(/[^a-z0-9]/g, "");
}

/** Exact spellings per field, already normalised (see `normalizeHeader`). */
const SYNONYMS: Record<LeadField, readonly string[]> = {
  phone: [
    "phone",
    "phones",
    "phonenumber",
    "phoneno",
    "phonenum",
    "phone1",
    "primaryphone",
    "mobile",
    "mobilephone",
    "mobilenumber",
    "mobileno",
    "mobilephonenumber",
    "mobile1",
    "cell",
    "cellphone",
    "cellnumber",
    "cellphonenumber",
    "cellular",
    "cellularphone",
    "telephone",
    "telephonenumber",
    "tel",
    "telno",
    "contactnumber",
    "contactphone",
    "msisdn",
    "smsnumber",
    "textnumber",
    "number",
  ],
  first_name: [
    "first",
    "firstname",
    "fname",
    "givenname",
    "given",
    "forename",
    "firstnames",
  ],
  last_name: [
    "last",
    "lastname",
    "lname",
    "surname",
    "familyname",
  ],
  email: [
    "email",
    "emailaddress",
    "emailaddr",
    "email1",
    "primaryemail",
  ],
  address: [
    "address",
    "address1",
    "addressline1",
    "addr",
    "addr1",
    "street",
    "street1",
    "streetaddress",
    "streetaddress1",
    "mailingaddress",
    "mailingstreet",
    "homeaddress",
  ],
  city: ["city", "town", "citytown", "locality"],
  state: [
    "state",
    "st",
    "province",
    "stateprovince",
    "stateorprovince",
    "statecode",
    "stateabbr",
    "stateabbreviation",
  ],
  zip: [
    "zip",
    "zipcode",
    "zip5",
    "postal",
    "postalcode",
    "postcode",
    "zippostalcode",
    "zippostal",
    "postalzip",
    "postalzipcode",
  ],
  tags: [
    "tags",
    "tag",
    "labels",
    "label",
    "lists",
    "list",
    "groups",
    "group",
    "segments",
    "segment",
  ],
  consent_source: [
    "consentsource",
    "optinsource",
    "optinmethod",
    "consentmethod",
    "source",
    "signupsource",
    "subscriptionsource",
  ],
  consent_at: [
    "consentdate",
    "consentat",
    "consenttimestamp",
    "consenttime",
    "consentdatetime",
    "consentgivenat",
    "consentedat",
    "optindate",
    "optinat",
    "optintimestamp",
    "optintime",
    "optindatetime",
    "optedinat",
    "optedindate",
    "dateoptedin",
    "subscribedat",
    "subscribeddate",
  ],
};

/**
 * Prefixes a CRM puts in front of a field name ("Contact First Name", "Mailing City",
 * "Lead Source"). A header that only matches once its prefix is dropped ranks below an
 * exact match.
 */
const PREFIXES = [
  "contact",
  "lead",
  "customer",
  "client",
  "person",
  "primary",
  "mailing",
  "billing",
  "main",
  "your",
  "home",
  "personal",
  "work",
  "business",
] as const;

/** Words that make a header a phone column (after splitting it into words). */
const PHONE_WORDS = new Set([
  "phone",
  "phones",
  "phonenumber",
  "mobile",
  "mobilephone",
  "cell",
  "cellphone",
  "cellular",
  "telephone",
  "tel",
  "msisdn",
]);

/** Words that mark the number a text message should go to. */
const MOBILE_WORDS = new Set([
  "mobile",
  "mobilephone",
  "cell",
  "cellphone",
  "cellular",
  "sms",
  "text",
  "wireless",
]);

/** Words that mark a number texts should not prefer (or a column that is not a number). */
const SECONDARY_PHONE_WORDS = new Set([
  "home",
  "work",
  "office",
  "business",
  "landline",
  "land",
  "other",
  "alt",
  "alternate",
  "alternative",
  "secondary",
  "second",
  "2",
  "3",
  "phone2",
  "phone3",
  "direct",
  "company",
  "day",
  "evening",
  "night",
]);

/** Words that mean the column is about a phone but is not the number itself; "Fax" never maps. */
const NOT_A_PHONE_WORDS = new Set([
  "fax",
  "ext",
  "extension",
  "type",
  "status",
  "verified",
  "valid",
  "validity",
  "carrier",
  "country",
  "countrycode",
  "code",
  "areacode",
  "count",
  "optin",
  "optout",
  "opt",
  "consent",
  "dnc",
  "donotcall",
  "line",
  "linetype",
]);

/** Splits "Mobile Phone", "mobile_phone", "MobilePhone", "Phone #2" into lower-case words. */
function words(header: string): string[] {
  return header
    .normalize("NFKD")
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .replace(/([A-Za-z])([0-9])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word !== "");
}

/**
 * How well a header fits the phone field, lower is better; undefined when it is not a
 * phone column. 0: mobile or cell; 1: a plain phone; 2: home, work, alternate, a second
 * number. Texts go to mobiles, so a "Mobile" column beats "Phone" and "Home Phone".
 */
function phoneRank(header: string): number | undefined {
  const key = normalizeHeader(header);
  const parts = words(header);
  const joined = new Set([...parts, key]);
  if ([...joined].some((word) => NOT_A_PHONE_WORDS.has(word))) return undefined;
  if (key.includes("fax")) return undefined;
  const exact = SYNONYMS.phone.includes(key);
  const stripped = stripPrefix(key);
  const isPhone = exact ||
    (stripped !== undefined && SYNONYMS.phone.includes(stripped)) ||
    parts.some((word) => PHONE_WORDS.has(word));
  if (!isPhone) return undefined;
  // "Number" alone is a phone only by elimination: below any named phone column.
  if (key === "number") return 3;
  if (parts.some((word) => SECONDARY_PHONE_WORDS.has(word)) || /[2-9]$/.test(key)) return 2;
  if (parts.some((word) => MOBILE_WORDS.has(word))) return 0;
  return 1;
}

function stripPrefix(key: string): string | undefined {
  for (const prefix of PREFIXES) {
    if (key.startsWith(prefix) && key.length > prefix.length) return key.slice(prefix.length);
  }
  return undefined;
}

/** 0 for an exact spelling, 1 for a prefixed one ("Mailing City"), undefined for no match. */
function fieldRank(field: Exclude<LeadField, "phone">, header: string): number | undefined {
  const key = normalizeHeader(header);
  if (key === "") return undefined;
  const synonyms = SYNONYMS[field];
  if (synonyms.includes(key)) return 0;
  const stripped = stripPrefix(key);
  if (stripped !== undefined && synonyms.includes(stripped)) return 1;
  return undefined;
}

/**
 * The mapping a user most likely wants. Each field takes its best-ranked header (file
 * order breaks ties), each header feeds at most one field, the phone is chosen first
 * (mobile before plain before home/work; never a fax). A combined "Name" / "Full Name"
 * column is not split: it stays a custom field. Headers no field took become custom
 * fields, empty header names are left out.
 */
export function suggestMapping(headers: readonly string[]): SuggestedMapping {
  const mapping: LeadMapping = {};
  const used = new Set<number>();

  const pick = (rank: (header: string) => number | undefined): number | undefined => {
    let best: { index: number; rank: number } | undefined;
    headers.forEach((header, index) => {
      if (used.has(index)) return;
      const r = rank(header);
      if (r !== undefined && (best === undefined || r < best.rank)) best = { index, rank: r };
    });
    return best?.index;
  };

  for (const field of LEAD_FIELDS) {
    const index = field === "phone" ? pick(phoneRank) : pick((h) => fieldRank(field, h));
    if (index === undefined) continue;
    used.add(index);
    mapping[field] = headers[index];
  }

  const custom_fields = headers.filter((header, index) => !used.has(index) && header.trim() !== "");
  return { mapping, custom_fields };
}

/** True when `header` is a spelling `suggestMapping` would map to some lead field. */
export function isKnownFieldName(header: string): boolean {
  if (phoneRank(header) !== undefined) return true;
  return LEAD_FIELDS.some((field) => field !== "phone" && fieldRank(field, header) !== undefined);
}

const FIELD_SET: ReadonlySet<string> = new Set(LEAD_FIELDS);

export function isLeadField(name: string): name is LeadField {
  return FIELD_SET.has(name);
}

/**
 * Problems with a mapping a client sent, as `{ path: "mapping.<field>", message }`:
 * unknown field names (custom fields are declared separately), headers that are not in
 * the file, a header mapped to two fields, and no phone column. `null` or `undefined`
 * means "not mapped". Empty when the mapping is usable.
 */
export function validateMapping(
  mapping: Readonly<Record<string, unknown>>,
  headers: readonly string[],
): FieldError[] {
  const errors: FieldError[] = [];
  const headerSet = new Set(headers);
  const takenBy = new Map<string, string>();

  for (const [field, value] of Object.entries(mapping)) {
    const path = `mapping.${field}`;
    if (!isLeadField(field)) {
      errors.push({
        path,
        message: `unknown field "${field}": the fields are ${
          LEAD_FIELDS.join(", ")
        }; other columns are imported as custom fields`,
      });
      continue;
    }
    if (value === undefined || value === null) continue;
    if (typeof value !== "string") {
      errors.push({ path, message: "must be the name of a column in the file, or null" });
      continue;
    }
    if (!headerSet.has(value)) {
      const near = headers.find((h) => h.trim().toLowerCase() === value.trim().toLowerCase());
      errors.push({
        path,
        message: near === undefined
          ? `the file has no column named "${value}"`
          : `the file has no column named "${value}" (did you mean "${near}"?)`,
      });
      continue;
    }
    const other = takenBy.get(value);
    if (other !== undefined) {
      errors.push({ path, message: `column "${value}" is already mapped to ${other}` });
      continue;
    }
    takenBy.set(value, field);
  }

  const phone = mapping.phone;
  if (phone === undefined || phone === null) {
    errors.push({
      path: "mapping.phone",
      message: "no column is mapped to phone: every lead needs a phone number",
    });
  }
  return errors;
}
