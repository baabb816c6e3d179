// How a scan's finding reads (stocktake.scan.*): the outcome, and for a counted copy
// whether it is misplaced and whether it was found on loan.
import { CAMPUSES, campusName } from "../../school.js";

/** `campus`: the stock-take's; a copy misplaced from the other campus belongs there. */
export function findingWords(t, finding, campus) {
  if (finding.outcome !== "counted") return t(`stocktake.scan.${finding.outcome}`);
  const parts = [t("stocktake.scan.counted")];
  if (finding.misplaced === "other_campus") parts.push(t("stocktake.scan.other_campus", { campus: campusName(CAMPUSES.find((code) => code !== campus)) }));
  if (finding.misplaced === "out_of_range") parts.push(t("stocktake.scan.out_of_range"));
  if (finding.on_loan) parts.push(t("stocktake.scan.on_loan"));
  return parts.join(t("stocktake.scan.separator"));
}

/** The kind of message a finding is: counted in place (success), else a notice. */
export function findingClass(finding) {
  if (finding.outcome === "counted" && !finding.misplaced && !finding.on_loan) return "success";
  if (finding.outcome === "unknown_barcode" || finding.outcome === "copy_weeded") return "error";
  return "notice";
}
