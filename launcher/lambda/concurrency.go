package lambda

import (
	"context"
	"encoding/json"
	"strconv"
)

type concurrencyInput struct {
	FunctionName                 string `json:"-" uri:"FunctionName"`
	ReservedConcurrentExecutions *int   `json:"ReservedConcurrentExecutions"`
}

// unreservedMinimum is what reservations must leave the functions
// without one.
const unreservedMinimum = 100

// PutFunctionConcurrency: https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionConcurrency.html
func (a *API) putFunctionConcurrency(ctx context.Context, in *concurrencyInput) (*concurrencySetting, error) {
	ref, err := a.unqualified(ctx, "PutFunctionConcurrency", in.FunctionName)
	if err != nil {
		return nil, err
	}
	if in.ReservedConcurrentExecutions == nil {
		return nil, validation("reservedConcurrentExecutions", "null", "Member must not be null")
	}
	n := *in.ReservedConcurrentExecutions
	if n < 0 {
		return nil, validation("reservedConcurrentExecutions", strconv.Itoa(n), "Member must have value greater than or equal to 0")
	}
	others, err := a.reservedElsewhere(ctx, ref.Name)
	if err != nil {
		return nil, err
	}
	if a.cfg.AccountConcurrency-others-n < unreservedMinimum {
		return nil, invalidParameter("Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [%d].", unreservedMinimum)
	}
	if _, err := a.update(ctx, ref.Name, func(doc *functionDoc) error {
		doc.Reserved = &n
		return nil
	}); err != nil {
		return nil, err
	}
	return &concurrencySetting{ReservedConcurrentExecutions: &n}, nil
}

// reservedElsewhere sums the reserved concurrency of the functions but
// name.
func (a *API) reservedElsewhere(ctx context.Context, name string) (int, error) {
	sum, after := 0, ""
	for {
		page, err := a.store.Functions(ctx, after, 500)
		if err != nil {
			return 0, err
		}
		for _, f := range page {
			after = f.Name
			var doc functionDoc
			if err := json.Unmarshal(f.Document, &doc); err != nil {
				return 0, err
			}
			if f.Name != name && doc.Reserved != nil {
				sum += *doc.Reserved
			}
		}
		if len(page) < 500 {
			return sum, nil
		}
	}
}

// GetFunctionConcurrency: https://docs.aws.amazon.com/lambda/latest/api/API_GetFunctionConcurrency.html
func (a *API) getFunctionConcurrency(ctx context.Context, in *concurrencyInput) (*concurrencySetting, error) {
	ref, err := a.unqualified(ctx, "GetFunctionConcurrency", in.FunctionName)
	if err != nil {
		return nil, err
	}
	l, err := a.load(ctx, ref.Name)
	if err != nil {
		return nil, err
	}
	return &concurrencySetting{ReservedConcurrentExecutions: l.doc.Reserved}, nil
}

// DeleteFunctionConcurrency: https://docs.aws.amazon.com/lambda/latest/api/API_DeleteFunctionConcurrency.html
func (a *API) deleteFunctionConcurrency(ctx context.Context, in *concurrencyInput) (*noContent, error) {
	ref, err := a.unqualified(ctx, "DeleteFunctionConcurrency", in.FunctionName)
	if err != nil {
		return nil, err
	}
	if _, err := a.update(ctx, ref.Name, func(doc *functionDoc) error {
		doc.Reserved = nil
		return nil
	}); err != nil {
		return nil, err
	}
	return &noContent{}, nil
}
