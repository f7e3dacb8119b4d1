"""Data: what the models train on. Class counts of the full data and of a
sample drawn the way a run draws it, the imbalance, example inputs and
lengths, per workload and split."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from dashboard import charts, data_services as ds, links, services  # noqa: E402

WORKLOADS = services.workload_labels()
EVALUATIONS = {"intra-patient": "intra-patient (Kaggle's split)", "inter-patient": "inter-patient (DS1 → DS2)"}
WHY_INTER = (
    "**Why intra-patient scores are higher.** Kaggle's split (intra-patient) draws train and test beats from the "
    "same 48 patients, so a model can score well by recognising each patient's beats. De Chazal et al. (2004) "
    "split by record instead (inter-patient): train on the 22 DS1 records, test on the 22 DS2 records, the 4 paced "
    "records left out, so every test beat comes from a patient the model never saw. Published DS2 results are far "
    "below the 0.98 and more reached intra-patient: Mondéjar-Guerra et al. (2019) accuracy 0.945; Niu et al. "
    "(2020) accuracy 0.964, F1 SVEB 0.766, VEB 0.897; Sellami & Hwang (2019) 0.9948 intra- against 0.8834 "
    "inter-patient for the same CNN. Runs choose with `--split inter-patient` (validation is then whole DS1 "
    "records, never single beats).")

st.title("Data")
st.markdown("What the models see: how unbalanced the classes are, what a sample keeps, and what the inputs look "
            "like. Samples are drawn with the runs' own seeded stratified sampler, so a run with the same sample "
            "fraction and seed trains on exactly these counts.")
home = services.require_home()

workload = st.radio("Workload", list(WORKLOADS), format_func=WORKLOADS.get, horizontal=True)
described = services.workload(workload)
signal = described.inputs == "signal"  # real-valued sequences (beats); otherwise token ids (titles)
meta = ds.dataset_meta(home, workload)
if meta is None:
    st.warning(f"The {workload} data is not prepared yet in `{home}`: the Home page prepares it with one button, "
               "from a path on this machine or an upload.")
    links.page("home.py", "Prepare it on the Home page", "🏠")
    with st.expander("The same from a terminal"):
        st.caption(described.data_help)
        st.code(described.prepare_lines(), language="bash")
    st.stop()

defaults = ds.defaults()
cols = st.columns([3, 3, 2, 2] if signal or described.label_quality else [3, 3, 2])
split = cols[0].radio("Split", ds.SPLITS, horizontal=True)
sample = cols[1].slider("Sample fraction", 0.01, 1.0, 0.1, 0.01, format="%.2f",
                        help="The share of train and validation a run with --sample keeps (every class keeps at "
                             "least one item). Test is never sampled.")
seed = int(cols[2].number_input("Split seed", min_value=0, value=defaults["seed"], step=1,
                                help="data.split_seed of a run: seeds the validation split and the sample."))
val_fraction, evaluation, reliable_only = defaults["val_fraction"], defaults["evaluation"], False
if described.label_quality:
    reliable_only = cols[3].checkbox("Reliable labels only", value=False,
                                   help="data.reliable_only of a run: train and validation keep only the items whose "
                                        "label quality is reliable.")
if signal:
    val_fraction = float(cols[3].number_input("Validation fraction", min_value=0.01, max_value=0.5,
                                              value=defaults["val_fraction"], step=0.01, format="%.2f",
                                              help="Share of the train part held out for validation (whole DS1 "
                                                   "records for inter-patient)."))
    evaluation = st.radio("Evaluation", list(EVALUATIONS), format_func=EVALUATIONS.get, horizontal=True,
                          index=list(EVALUATIONS).index(defaults["evaluation"]),
                          help="data.split of a run: which beats train and which test (see 'Intra- vs "
                               "inter-patient' below).")


def show(fig, caption: str, where=st) -> None:
    where.plotly_chart(fig, width="stretch")
    where.caption(caption)


def ratio_text(info: dict) -> str:
    text = f"{info['ratio']:,.1f} : 1" if info["ratio"] == info["ratio"] else "-"
    return text + (f" ({info['missing']} missing)" if info["missing"] else "")


sample_note = "test is never sampled" if split == "test" else f"{sample:.0%} sample, seed {seed}"
if signal:
    try:
        counts = ds.heartbeat_counts(meta, sample, seed, val_fraction, evaluation)
    except ValueError as exc:  # inter-patient on beats built from Kaggle's CSVs: no record ids
        st.error(str(exc))
        st.stop()
else:
    counts = ds.titles_counts(meta, sample, seed, reliable_only)
names, full, part = counts["class_names"], counts["full"][split], counts["sample"][split]
full_ratio, part_ratio = ds.imbalance(full), ds.imbalance(part)

st.header("Class distribution")
m = st.columns(4)
unit = described.unit
m[0].metric(f"{unit} in {split}", f"{sum(full):,}")
m[1].metric(f"{unit} in the sample", f"{sum(part):,}", help=sample_note)
m[2].metric("imbalance, full data", ratio_text(full_ratio),
            help=f"Largest class over smallest: {full_ratio['largest']:,} / {full_ratio['smallest']:,}")
m[3].metric("imbalance, sample", ratio_text(part_ratio),
            help=f"Largest class over smallest: {part_ratio['largest']:,} / {part_ratio['smallest']:,}")
log_y = st.toggle("log scale", value=described.log_counts, key=f"data_log_{workload}")

left, right = st.columns(2)
if signal:
    show(charts.class_counts_bar(names, full, f"Full data: beats per class ({split}, {evaluation})", log_y, total=sum(full)),
         "N (normal) dominates every split; F (fusion) and S (supraventricular ectopic) are the rare classes. "
         "Hover a bar for its share.", left)
    show(charts.class_counts_bar(names, part, f"Sample: beats per class ({split}, {evaluation}, {sample_note})", log_y,
                                 total=sum(part)),
         "The sample keeps each class's share (and at least one beat of each), so the imbalance stays while the "
         f"rarest class shrinks to {part_ratio['smallest']:,} beats: what a small-sample run learns least about.",
         right)
else:
    pick = ds.extremes(names, full, 10)
    chosen = pick["top"] + pick["bottom"]
    cats = [names[i] for i in chosen]
    which = "the 10 most and 10 least frequent categories" if pick["bottom"] else f"all {len(names)} categories"
    show(charts.category_bars(cats, [full[i] for i in chosen], f"Full data: {which} ({split})", log_y,
                              total=sum(full)),
         "The top bars are the largest categories, the bottom ones the smallest. Hover a bar for its share.", left)
    show(charts.category_bars(cats, [part[i] for i in chosen], f"Sample: the same categories ({split}, {sample_note})",
                              log_y, total=sum(part)),
         "A sample keeps each category's share but at least one title: the smallest category keeps "
         f"{part_ratio['smallest']:,} here. Few examples per category is why balanced accuracy is the metric to watch.",
         right)
    show(charts.category_rank(full, part, log_y, f"Share of titles per category, ranked ({split})"),
         "A flat line would be perfectly balanced; the drop on the right is the long tail of rare categories. "
         "The two lines should lie on top of each other: a stratified sample keeps the shape.")

if len(described.evaluations) > 1:
    st.header("Intra- vs inter-patient")
    st.markdown(WHY_INTER)
    sets = ds.heartbeat_record_sets(meta, seed, val_fraction)
    st.dataframe(pd.DataFrame(sets["rows"]), hide_index=True, width="stretch",
                 column_config={n: st.column_config.NumberColumn(format="localized") for n in [*names, "total"]})
    if not sets["has_records"]:
        st.caption("These beats were built from Kaggle's CSVs, which drop the record of each beat: the "
                   "inter-patient split needs the raw MIT-BIH records (`prepare heartbeat --source` a folder or "
                   "archive of them).")
    elif sets["validation_records"]:
        st.caption(f"An inter-patient run with split seed {seed} and validation fraction {val_fraction:g} holds out "
                   "the whole DS1 records " + ", ".join(map(str, sets["validation_records"])) + " for validation.")

st.header("Examples")
if signal:
    example = int(st.columns([1, 4])[0].number_input("Example", min_value=0, value=0, step=1,
                                                     help="Step through random beats of each class."))
    profile = ds.heartbeat_profile(meta, split, seed, val_fraction, example, evaluation)
    show(charts.beat_examples(profile["classes"], f"One beat of each class ({split}, cut at its true length)"),
         "Each beat starts at its R peak, is min-max scaled to [0, 1] and runs a little past the next beat's peak "
         "(the spike near its end). Step through the examples to see how much the beats of one class vary.")
    show(charts.mean_beats(profile["classes"], f"Mean beat per class with ±1 standard deviation ({split})"),
         "Averaged over the beats still running at each step (padding left out); each panel stops where fewer "
         "than 1% of the class's beats are that long. A wide band means the class varies a lot: harder to learn.")
    st.header("Lengths")
    length = profile["length"]
    show(charts.beat_lengths(profile["classes"], f"True length of the beats per class ({split})"),
         f"True length = position after the last non-zero value. Mean {length['mean']:.1f}, median "
         f"{length['median']:.0f} of {profile['steps']} steps: {length['padding_share']:.0%} of the padded input is "
         "padding. Packed models skip it, trimmed ones drop the last steps; classes that end early lose less.")
else:
    profile = ds.titles_profile(meta, split, seed, 12)
    st.dataframe(pd.DataFrame(profile["examples"]), hide_index=True, width="stretch")
    st.caption("Random titles of this split beside the tokens the model reads: lowercased, punctuation, digits and "
               "short words gone, Spanish stopwords dropped, words outside the vocabulary as [UNK], cut at "
               f"max_len {profile['max_len']}. \"kept\" counts the tokens before that cut.")
    st.header("Lengths")
    show(charts.title_lengths(profile["length_counts"], profile["max_len"], f"Tokens per title ({split})"),
         f"Mean {profile['mean_tokens']:.1f} tokens per title; {profile['truncated']:,} titles are longer than "
         f"max_len and get cut, {profile['empty']:,} have no token left (read as one [UNK]). Packed models read each title only up to its "
         "length; padded ones also read the padding.")
