// The prompt text for a question about a codebase, under a token budget.
//
// When every indexed file fits, all of them go in, entire, each headed by its path. Otherwise: a
// short tree of the repository, then the best-ranked chunks (CodeIndex::search) that fit, each
// headed by its path and lines, in path order. The result's token count is measured on the final
// text with the model's tokenizer, and pieces are dropped until it is within the budget: it never
// exceeds it.
#pragma once

#include "code_index.h"
#include "token_counter.h"

namespace gander::ingest {

constexpr int kDefaultCodeBudget = 48 * 1024;

struct RetrieveOptions {
    int budget = kDefaultCodeBudget;
    QString name;          // shown in the header; default: the root folder's name
    int treeLines = 40;    // at most this many lines of tree
    int candidates = 1000; // chunks asked of the index
};

CodeContext buildCodeContext(const CodeIndex& index, const QString& question,
                             const TokenCounter& counter, const RetrieveOptions& options = {});

// The short tree: folders (two levels, with file counts) and the files at the top.
QString repositoryTree(const QStringList& files, int maxLines);

} // namespace gander::ingest
