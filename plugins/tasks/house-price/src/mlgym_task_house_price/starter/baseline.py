"""Baseline for the house-price task: ridge regression with minimal feature engineering.

Reads data/train.csv and data/validation.csv (with SalePrice) and data/test.csv (without),
fits on the training split only, prints the validation scores and writes submission.csv with a
predicted SalePrice for every validation and test house (columns Id,SalePrice).

    python baseline.py
"""

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

ALPHA = 10.0  # ridge penalty
TARGET = "SalePrice"

train = pd.read_csv("data/train.csv")
validation = pd.read_csv("data/validation.csv")
test = pd.read_csv("data/test.csv")

features = [c for c in train.columns if c not in ("Id", TARGET)]
numeric = [c for c in features if pd.api.types.is_numeric_dtype(train[c])]
categorical = [c for c in features if c not in numeric]

# numbers: fill gaps with the median and standardise; categories: a "missing" level + one-hot
preprocess = ColumnTransformer([
    ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
    ("categorical", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                                  OneHotEncoder(handle_unknown="ignore")), categorical),
])
model = make_pipeline(preprocess, Ridge(alpha=ALPHA))
model.fit(train[features], train[TARGET])

predicted = model.predict(validation[features])
rmse = np.sqrt(mean_squared_error(validation[TARGET], predicted))
print(f"validation r2 {r2_score(validation[TARGET], predicted):.4f}  rmse {rmse:,.0f}")

houses = pd.concat([validation, test], ignore_index=True)
submission = pd.DataFrame({"Id": houses["Id"], TARGET: model.predict(houses[features])})
submission.to_csv("submission.csv", index=False)
print(f"wrote submission.csv with {len(submission)} predictions")
