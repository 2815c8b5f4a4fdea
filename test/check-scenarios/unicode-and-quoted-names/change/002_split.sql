-- Quoted, mixed-case, non-ASCII names: "Straße und Nummer" is split.
ALTER TABLE "Kunden"."Adresse" ADD COLUMN "Straße" text, ADD COLUMN "Hausnummer" text;
ALTER TABLE "Kunden"."Adresse" DROP COLUMN "Straße und Nummer";
ALTER TABLE "Kunden"."Adresse" RENAME COLUMN "PLZ" TO "Postleitzahl";
