import { AppError } from '../errors.ts';

/**
 * A small RFC 4180 CSV reader: fields separated by commas, records by CRLF, LF or a lone CR; a field in double quotes may
 * hold commas, line breaks and doubled quotes (""). A quote inside an unquoted field is kept as a character.
 */
export interface CsvRecord {
  fields: string[];
  /** 1-based line on which the record starts. */
  line: number;
}

export function parseCsv(text: string): CsvRecord[] {
  const s = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let i = 0;
  let atFieldStart = true;
  let sawAnything = false;

  const endField = () => {
    fields.push(field);
    field = '';
    atFieldStart = true;
  };
  const endRecord = () => {
    endField();
    // A line with nothing on it is not a record.
    if (!(fields.length === 1 && fields[0] === '' && !sawAnything)) records.push({ fields, line: recordLine });
    fields = [];
    sawAnything = false;
  };

  while (i < s.length) {
    const c = s[i];
    if (atFieldStart && c === '"') {
      // Quoted field: read to the closing quote.
      sawAnything = true;
      const startLine = line;
      i++;
      for (;;) {
        if (i >= s.length) {
          throw new AppError(
            'bad-input',
            `CSV line ${startLine}: a quoted field is never closed. Add the closing " (and write quotes inside a field as "").`,
          );
        }
        const d = s[i];
        if (d === '"') {
          if (s[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (d === '\n' || (d === '\r' && s[i + 1] !== '\n')) line++;
        field += d;
        i++;
      }
      const next = s[i];
      if (i < s.length && next !== ',' && next !== '\n' && next !== '\r') {
        throw new AppError(
          'bad-input',
          `CSV line ${line}: text after a closing quote. Put the whole field in quotes and double any quote inside it ("").`,
        );
      }
      atFieldStart = false;
      continue;
    }
    if (c === ',') {
      sawAnything = true;
      endField();
      i++;
      continue;
    }
    if (c === '\r' || c === '\n') {
      endRecord();
      i += c === '\r' && s[i + 1] === '\n' ? 2 : 1;
      line++;
      recordLine = line;
      continue;
    }
    sawAnything = true;
    field += c;
    atFieldStart = false;
    i++;
  }
  if (field !== '' || fields.length > 0 || sawAnything) endRecord();
  return records;
}
