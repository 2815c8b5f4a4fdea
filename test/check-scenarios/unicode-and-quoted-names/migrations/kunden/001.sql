CREATE TABLE "Kunden"."Adresse" (
  id int PRIMARY KEY,
  "Straße und Nummer" text NOT NULL,
  "PLZ" text
);
