/**
 * The database's types, for function code. `database.types.ts` beside this file is
 * generated from the migrated schema by `npm run gen:types` (the same output as
 * `supabase gen types typescript --local`, formatted) and never edited by hand; `npm test`
 * fails when it no longer matches the migrations.
 *
 *   Tables<"leads">            a row as selected
 *   TablesInsert<"leads">      what an insert may carry (defaults optional, identity never)
 *   TablesUpdate<"leads">      what an update may carry
 *   Enums<"member_role">       "admin" | "campaign_manager" | "operator" | "viewer"
 *   Constants.public.Enums     the same enums as arrays, e.g. for `z.enum(...)`
 */
export type {
  CompositeTypes,
  Database,
  Enums,
  Json,
  Tables,
  TablesInsert,
  TablesUpdate,
} from "./database.types.ts";
export { Constants } from "./database.types.ts";
