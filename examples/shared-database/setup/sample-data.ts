/** Plausible names and German addresses (non-ASCII included) for seeds and traffic. */

export const FIRST_NAMES = [
  'Anna',
  'Jonas',
  'Lea',
  'Lukas',
  'Marie',
  'Paul',
  'Sophie',
  'Felix',
  'Emma',
  'Jürgen',
  'Zoë',
  'Ömer',
];
export const LAST_NAMES = [
  'Müller',
  'Schmidt',
  'Schneider',
  'Fischer',
  'Weber',
  'Meyer',
  'Wagner',
  'Becker',
  'Hoffmann',
  "O'Neill",
];
export const STREETS = [
  'Hauptstraße',
  'Bahnhofstraße',
  'Gartenweg',
  'Schillerstraße',
  'Lindenallee',
  'Am Markt',
  'Goethestraße',
];
export const CITIES: { city: string; zip: string }[] = [
  { city: 'Berlin', zip: '10115' },
  { city: 'Hamburg', zip: '20095' },
  { city: 'München', zip: '80331' },
  { city: 'Köln', zip: '50667' },
  { city: 'Frankfurt am Main', zip: '60311' },
  { city: 'Stuttgart', zip: '70173' },
  { city: 'Düsseldorf', zip: '40213' },
  { city: 'Leipzig', zip: '04109' },
  { city: 'Nürnberg', zip: '90402' },
  { city: 'Dresden', zip: '01067' },
];

/** A deterministic pseudo-random generator (mulberry32), so traffic mixes are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(list: readonly T[], random: () => number): T {
  return list[Math.floor(random() * list.length)]!;
}

/** A new account's fields: name, street_and_number, zip (varied within the city), city. */
export function randomAccount(random: () => number): {
  name: string;
  street_and_number: string;
  zip: string;
  city: string;
} {
  const place = pick(CITIES, random);
  const zip = String(Number(place.zip) + Math.floor(random() * 40)).padStart(5, '0');
  return {
    name: `${pick(FIRST_NAMES, random)} ${pick(LAST_NAMES, random)}`,
    street_and_number: `${pick(STREETS, random)} ${1 + Math.floor(random() * 120)}`,
    zip,
    city: place.city,
  };
}
