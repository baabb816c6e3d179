// What a records tab shows: which register or ledger, the campus and the period.
// The choice lives in the address (#/records/registers?register=purchases&campus=north),
// so a link shows the same; `follow(load)` asks again at every change, and at once.
import { computed, ref, watch } from "vue";
import { useRoute, useRouter } from "vue-router";
import { CAMPUSES } from "../../school.js";

/** `param`: the address's name for the choice; `names`: what may be chosen (the first by default). */
export function useRecordChoice(param, names) {
  const route = useRoute();
  const router = useRouter();
  const chosen = ref(names.includes(route.query[param]) ? route.query[param] : names[0]);
  const period = ref({
    campus: CAMPUSES.includes(route.query.campus) ? route.query.campus : "",
    since: route.query.since || "",
    until: route.query.until || "",
  });
  const query = computed(() => ({ campus: period.value.campus, since: period.value.since, until: period.value.until }));

  function follow(load) {
    watch(
      [chosen, period],
      () => {
        const given = Object.fromEntries(Object.entries(query.value).filter(([, v]) => v));
        router.replace({ query: { [param]: chosen.value, ...given } });
        load();
      },
      { immediate: true },
    );
  }
  return { chosen, period, query, follow };
}
