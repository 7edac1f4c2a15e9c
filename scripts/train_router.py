#!/usr/bin/env python3
"""Trains the router's statistical model and writes it to data/router_model.tsv.

    pip install scikit-learn==1.9.1
    python3 scripts/train_router.py

Two multinomial logistic regressions, one for the intent and one for the
language, over the same character n-grams (2 to 5, inside word boundaries,
sublinear tf-idf, l2-normalised) of the folded text, the way sklearn's
TfidfVectorizer(analyzer="char_wb") builds them, beside its words and word
pairs (sublinear tf-idf, l2-normalised on their own). The intent model also sees
the bot's previous intent (one column per intent, 1 when the message
answers it), learnt from data/intents_context*.tsv, so that a short "yes",
"thanks" or "still no" is read after what the bot last said.

It learns from the sets in SOURCES. The dev set, on which the abstention
thresholds (the best intent's least probability and its least lead over the
second) and the regularisation are chosen, is data/intents_blind3.tsv (never
trained on) and every fifth line of the newest sets (train5, context5,
blind6, context6, train7, context7train, blind7, context7, train8,
context8train), predicted by a model trained without them; the shipped
model is then trained on every line of SOURCES. blind6, context6, blind7
and context7, each measured once on the model before, are training data
now. The blind sets data/intents_blind8.tsv and data/intents_context8.tsv
are never read here.

src/conversation/model.rs computes the same features and the same
probabilities in Rust; data/router_model_check.tsv holds messages with the
probabilities computed here, and a unit test compares the two.
"""
import os
import re
import unicodedata
from collections import defaultdict

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

# path, columns (3: language intent text; 4 with "split": language intent
# split text; "context": language previous intent text), whether every
# fifth line is held out for the dev set, and the weight of a message: the
# newest sets are written in the style of real WhatsApp traffic and count
# double.
SOURCES = [
    ("data/intents.tsv", "split", False, 1.0),
    ("data/intents_unseen.tsv", "plain", False, 1.0),
    ("data/intents_blind2.tsv", "plain", False, 1.0),
    ("data/intents_train4.tsv", "plain", False, 1.0),
    ("data/intents_train5.tsv", "plain", True, 2.0),
    ("data/intents_context5.tsv", "context", True, 2.0),
    ("data/intents_blind6.tsv", "plain", True, 2.0),
    ("data/intents_context6.tsv", "context", True, 2.0),
    ("data/intents_train7.tsv", "plain", True, 2.0),
    ("data/intents_context7train.tsv", "context", True, 2.0),
    ("data/intents_blind7.tsv", "plain", True, 2.0),
    ("data/intents_context7.tsv", "context", True, 2.0),
    ("data/intents_train8.tsv", "plain", True, 2.0),
    ("data/intents_context8train.tsv", "context", True, 2.0),
]
DEV_ONLY = [("data/intents_blind3.tsv", "plain")]
C_VALUES = [40]
# Confidently wrong costs this many misses when the thresholds are chosen:
# a hand-off is cheap, a wrong answer is not.
WRONG_COST = 8.0
# Below this probability the router names no language and the reply is in
# English (src/conversation/router.rs has the same).
LANGUAGE_THRESHOLD = 0.3


def fold(text):
    """Lower case, accents stripped (NFKD), anything but a-z and 0-9 a space."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def read(path, kind, weight=1.0):
    """(language, previous or None, intent, text, weight) of each line of a set."""
    rows = []
    if not os.path.exists(path):
        print("skipping %s: not there" % path)
        return rows
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                continue
            if kind == "context":
                language, previous, intent, text = line.split("\t", 3)
                previous = previous if previous and previous != "-" else None
            elif kind == "split":
                language, intent, _, text = line.split("\t", 3)
                previous = None
            else:
                language, intent, text = line.split("\t", 2)
                previous = None
            rows.append((language, previous, intent, text, weight))
    return rows


def load():
    """The training rows and the dev rows held out of them."""
    train, held_out, dev = [], [], []
    for path, kind, hold, weight in SOURCES:
        for n, row in enumerate(read(path, kind, weight)):
            (held_out if hold and n % 5 == 4 else train).append(row)
    for path, kind in DEV_ONLY:
        dev.extend(read(path, kind))
    return with_context(train), with_context(held_out), dev


def with_context(rows):
    """The rows, and every third message written on its own again after a
    previous intent: the short replies of the context sets must not teach
    the model that a clear question ("what's the door code?") right after
    the code was sent is anything but what it says."""
    previous = sorted({r[1] for r in rows if r[1]})
    if not previous:
        return rows
    standalone = [r for r in rows if r[1] is None]
    extra = [(r[0], previous[n % len(previous)], r[2], r[3], r[4]) for n, r in enumerate(standalone[::3])]
    return rows + extra


class Features:
    """The two feature blocks, each l2-normalised on its own: character
    n-grams (2 to 5, inside word boundaries) and words and word pairs of the
    folded text."""

    def __init__(self):
        self.chars = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, preprocessor=fold, lowercase=False
        )
        self.words = TfidfVectorizer(
            analyzer="word", ngram_range=(1, 2), sublinear_tf=True, preprocessor=fold, lowercase=False,
            token_pattern=r"\S+",
        )

    def fit_transform(self, texts):
        return sp.hstack([self.chars.fit_transform(texts), self.words.fit_transform(texts)]).tocsr()

    def transform(self, texts):
        return sp.hstack([self.chars.transform(texts), self.words.transform(texts)]).tocsr()

    def width(self):
        return len(self.chars.vocabulary_) + len(self.words.vocabulary_)


class Router:
    """The features and the two models, fitted on rows."""

    def __init__(self, rows, c):
        self.vectorizer = Features()
        texts = [r[3] for r in rows]
        self.previous = sorted({r[1] for r in rows if r[1]})
        tfidf = self.vectorizer.fit_transform(texts)
        self.model = LogisticRegression(C=c, max_iter=5000)
        weights = [r[4] for r in rows]
        self.model.fit(self.features(tfidf, [r[1] for r in rows]), [r[2] for r in rows], sample_weight=weights)
        self.language_model = LogisticRegression(C=20, max_iter=5000)
        self.language_model.fit(tfidf, [r[0] for r in rows], sample_weight=weights)

    def features(self, tfidf, previous):
        context = sp.lil_matrix((tfidf.shape[0], len(self.previous)))
        for n, p in enumerate(previous):
            if p in self.previous:
                context[n, self.previous.index(p)] = 1.0
        return sp.hstack([tfidf, context.tocsr()]).tocsr()

    def predict(self, texts, previous):
        tfidf = self.vectorizer.transform(texts)
        return self.model.predict_proba(self.features(tfidf, previous)), self.language_model.predict_proba(tfidf)


def decide(classes, row, probability, margin):
    """The router's verdict on a row of probabilities: (intent, unsure)."""
    order = np.argsort(-row)
    best, second = row[order[0]], row[order[1]]
    if best >= probability and best - second >= margin:
        return classes[order[0]], False
    return "unknown", True


def score(router, rows, probability, margin):
    """Per language: [messages, right, confidently wrong, language told]."""
    if not rows:
        return {}
    intents, languages = router.predict([r[3] for r in rows], [r[1] for r in rows])
    classes = list(router.model.classes_)
    language_classes = list(router.language_model.classes_)
    table = defaultdict(lambda: [0, 0, 0, 0])
    for row, intent_row, language_row, in zip(rows, intents, languages):
        got, unsure = decide(classes, intent_row, probability, margin)
        entry = table[row[0]]
        entry[0] += 1
        entry[1] += got == row[2]
        entry[2] += got != row[2] and got != "unknown" and not unsure
        best = int(np.argmax(language_row))
        named = language_classes[best] if language_row[best] >= LANGUAGE_THRESHOLD else "en"
        entry[3] += named == row[0]
    return table


def totals(table):
    n = sum(e[0] for e in table.values())
    return n, sum(e[1] for e in table.values()), sum(e[2] for e in table.values())


def choose_thresholds(router, dev):
    """The thresholds with the fewest misses on the dev set, a confidently
    wrong answer counting WRONG_COST misses."""
    intents, _ = router.predict([r[3] for r in dev], [r[1] for r in dev])
    classes = list(router.model.classes_)
    best = None
    # Above 0.5 the model hands off plain questions with a second intent in
    # them ("the code for room 101? my friend is there").
    for probability in np.arange(0.2, 0.525, 0.025):
        for margin in np.arange(0.0, 0.8, 0.025):
            misses = 0.0
            for row, intent_row in zip(dev, intents):
                got, unsure = decide(classes, intent_row, probability, margin)
                if got != row[2]:
                    misses += WRONG_COST if got != "unknown" and not unsure else 1.0
            if best is None or misses < best[0] - 1e-9:
                best = (misses, round(float(probability), 3), round(float(margin), 3))
    return best


def print_table(title, table):
    print("| language | messages | accuracy | confidently wrong | language told |  (%s)" % title)
    print("|---|---|---|---|---|")
    for language in sorted(table):
        n, right, wrong, told = table[language]
        print("| %s | %d | %.1f %% | %.1f %% | %.1f %% |" % (language, n, 100 * right / n, 100 * wrong / n, 100 * told / n))
    n = sum(e[0] for e in table.values())
    if n:
        right, wrong, told = (sum(e[k] for e in table.values()) for k in (1, 2, 3))
        print("| all | %d | %.1f %% | %.1f %% | %.1f %% |" % (n, 100 * right / n, 100 * wrong / n, 100 * told / n))


def write_model(router, thresholds, messages):
    classes = list(router.model.classes_)
    chars = router.vectorizer.chars
    words = router.vectorizer.words
    coef = router.model.coef_
    language_coef = router.language_model.coef_
    width = router.vectorizer.width()
    with open("data/router_model.tsv", "w", encoding="utf-8") as out:
        out.write("# doorman router model: scripts/train_router.py, %d messages\n" % messages)
        out.write("classes\t" + "\t".join(classes) + "\n")
        out.write("intercepts\t" + "\t".join("%.5f" % b for b in router.model.intercept_) + "\n")
        out.write("languages\t" + "\t".join(router.language_model.classes_) + "\n")
        out.write("language_intercepts\t" + "\t".join("%.5f" % b for b in router.language_model.intercept_) + "\n")
        out.write("thresholds\t%.3f\t%.3f\n" % thresholds)
        out.write("previous\t" + "\t".join(router.previous) + "\n")
        for n, previous in enumerate(router.previous):
            out.write("@%s\t%s\n" % (previous, "\t".join("%.4f" % w for w in coef[:, width + n])))

        def line(key, idf, column):
            weights = list(coef[:, column]) + list(language_coef[:, column])
            out.write("%s\t%.5f\t%s\n" % (key, idf, "\t".join("%.4f" % w for w in weights)))

        # A character n-gram, its idf, its weight for each intent, then for
        # each language; then each word or word pair, marked with "=".
        for ngram, column in sorted(chars.vocabulary_.items()):
            line(ngram, chars.idf_[column], column)
        offset = len(chars.vocabulary_)
        for word, column in sorted(words.vocabulary_.items()):
            line("=" + word, words.idf_[column], offset + column)


SAMPLES = [
    ("what's the door code?", None),
    ("Der Code funktioniert nicht, die Tür bleibt zu", None),
    ("¿A qué hora es el check-out?", None),
    ("quel est le mot de passe du wifi", None),
    ("dove posso parcheggiare la macchina?", None),
    ("Dobrý deň, chcel by som hovoriť s majiteľom", None),
    ("Jak se dostanu z nádraží k apartmánu?", None),
    ("Dzień dobry! Dziękuję bardzo 😊", None),
    ("A que horas posso fazer o check-in?", None),
    ("Is er een handdoek extra mogelijk?", None),
    ("Habari, naomba msimbo wa mlango tafadhali", None),
    ("ok it worked, thanks!", "lock_problem"),
    ("still no", "lock_problem"),
    ("", None),
]


def write_check(router):
    texts = [t for t, _ in SAMPLES]
    intents, languages = router.predict(texts, [p for _, p in SAMPLES])
    with open("data/router_model_check.tsv", "w", encoding="utf-8") as out:
        for (text, previous), row, language_row in zip(SAMPLES, intents, languages):
            values = "\t".join("%.6f" % p for p in list(row) + list(language_row))
            out.write("%s\t%s\t%s\n" % (text, previous or "-", values))


def main():
    train, held_out, dev = load()
    dev_all = dev + held_out
    best = None
    for c in C_VALUES:
        router = Router(train, c)
        misses, probability, margin = choose_thresholds(router, dev_all)
        print("C=%s: %.0f weighted misses on %d dev messages at p>=%.3f, margin>=%.3f"
              % (c, misses, len(dev_all), probability, margin))
        if best is None or misses < best[0]:
            best = (misses, c, (probability, margin), router)
    _, c, thresholds, router = best
    print_table("dev: blind3 and the held-out lines, C=%s" % c, score(router, dev_all, *thresholds))
    print_table("blind3 alone", score(router, dev, *thresholds))
    print_table("held-out lines alone", score(router, held_out, *thresholds))
    final = Router(train + held_out, c)
    write_model(final, thresholds, len(train) + len(held_out))
    write_check(final)
    print("trained on %d messages: %d n-grams and %d words, thresholds %.3f / %.3f"
          % (len(train) + len(held_out), len(final.vectorizer.chars.vocabulary_),
             len(final.vectorizer.words.vocabulary_), *thresholds))


if __name__ == "__main__":
    main()
