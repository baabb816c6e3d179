// A roster as the school office sends it, made ready for the API.
//
// POST /api/cards/import takes the CSV text with the header
// name,kind,class,campus[,patron_id] and the codes student/teacher/class_corner,
// north/south, G7-3. Offices write 姓名,类型,班级,校区,借书证号 with 学生/教师,
// 北区/南区 and 初一(3)班, so those are translated here, field by field, keeping
// every record on the same line(s) of the text: the line numbers the API gives
// for bad rows are those of the file the librarian chose. A roster already in
// the API's words is sent as it is. (The words recognised are the school
// office's column names and values — an input format, like the API's; a class
// is read by parseClass, which knows how schools write them.)
import { toCsv } from "../../csv.js";
import { parseClass } from "../../school.js";

export const REQUIRED = ["name", "kind", "class", "campus"];

const COLUMNS = {
  name: ["name", "姓名", "名字"],
  kind: ["kind", "类型", "身份", "类别"],
  class: ["class", "班级"],
  campus: ["campus", "校区"],
  patron_id: ["patron_id", "借书证号", "读者证号", "借阅证号", "学号", "工号"],
};
const VALUES = {
  kind: { 学生: "student", 教师: "teacher", 老师: "teacher", 班级图书角: "class_corner", 图书角: "class_corner", 班级图书箱: "class_corner" },
  campus: { 北区: "north", 南区: "south", 北校区: "north", 南校区: "south" },
};

/** Records of a CSV text (RFC 4180, as Python's csv reads it); a blank line is [""]. */
export function parseCsv(text) {
  const records = [];
  let fields = [];
  let field = "";
  let quoted = false;
  let started = false; // anything of this record read
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
      continue;
    }
    if (c === '"' && field === "") {
      quoted = true;
      started = true;
    } else if (c === ",") {
      fields.push(field);
      field = "";
      started = true;
    } else if (c === "\n" || c === "\r") {
      fields.push(field);
      records.push(fields);
      fields = [];
      field = "";
      started = false;
      if (c === "\r" && text[i + 1] === "\n") i += 1;
    } else {
      field += c;
      started = true;
    }
  }
  if (started || field !== "") {
    fields.push(field);
    records.push(fields);
  }
  return records;
}

function columnOf(name) {
  const written = name.trim().toLowerCase();
  return Object.keys(COLUMNS).find((column) => COLUMNS[column].includes(written)) || null;
}

function valueOf(column, value) {
  const written = value.trim();
  if (VALUES[column] && VALUES[column][written]) return VALUES[column][written];
  if (column === "class" && written) return parseClass(written) || value;
  return value;
}

/**
 * The roster in the API's words: {csv, missing}. `missing` names the required
 * columns the header lacks (the API would refuse the whole file for them).
 */
export function rosterForApi(text) {
  const source = text.replace(/^\ufeff/, "");
  const records = parseCsv(source);
  if (!records.length) return { csv: source, missing: [...REQUIRED] };
  const columns = records[0].map(columnOf);
  const missing = REQUIRED.filter((column) => !columns.includes(column));
  let changed = false;
  const translated = records.map((fields, index) =>
    fields.map((value, position) => {
      const column = columns[position];
      const now = index === 0 ? column || value : column ? valueOf(column, value) : value;
      if (now !== value) changed = true;
      return now;
    }),
  );
  return { csv: changed ? toCsv(translated, "\n") : source, missing };
}
