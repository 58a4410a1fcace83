/** Dataset definitions shared by the integration tests: the same typed schema in three formats. */
const schema = `
schema:
  type: object
  required: [id, name]
  properties:
    id: { type: integer, minimum: 1 }
    name: { type: string, minLength: 1 }
    price: { type: number, minimum: 0 }
    active: { type: boolean }
    born: { type: string, format: date }
    seen: { type: string, format: date-time }
    size: { type: string, enum: [S, M, L] }
`;

export const ITEM_DATASETS: Record<string, string> = {
  'items-csv.yaml': `name: items-csv\nmatch: ["items*.csv", "items*.csv.gz"]\nformat: csv\ntable: shop.items_csv\n${schema}`,
  'items-jsonl.yaml': `name: items-jsonl\nmatch: ["items*.jsonl", "items*.jsonl.gz"]\nformat: jsonl\ntable: shop.items_jsonl\n${schema}`,
  'items-json.yaml': `name: items-json\nmatch: ["items*.json", "items*.json.gz"]\nformat: json\ntable: shop.items_json\n${schema}`,
};

export const ITEMS_CSV = [
  'id,name,price,active,born,seen,size',
  '1,Widget,9.5,true,2020-02-29,2024-01-02T03:04:05.123456Z,S',
  '2,"Gadget, large",12,no,,2024-01-02T03:04:05+02:00,L',
  '3,"multi',
  'line",0,yes,1999-12-31,,M',
].join('\n');

export const ITEMS_RECORDS = [
  { id: 1, name: 'Widget', price: 9.5, active: true, born: '2020-02-29', seen: '2024-01-02T03:04:05.123456Z', size: 'S' },
  { id: 2, name: 'Gadget, large', price: 12, active: false, seen: '2024-01-02T03:04:05+02:00', size: 'L' },
  { id: 3, name: 'multi\nline', price: 0, active: true, born: '1999-12-31', size: 'M' },
];
