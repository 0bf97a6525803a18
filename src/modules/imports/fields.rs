//! What an import can set on a member, and which CSV column gives each: detected from the headers
//! (`E-mail`, `Work Email`, `Surname`...) and overridable by the caller.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{ApiError, FieldError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    Email,
    FirstName,
    LastName,
    FullName,
    Title,
    Department,
    Location,
    ManagerEmail,
    EmployeeId,
    Role,
    StartDate,
}

impl Field {
    pub const ALL: [Field; 11] = [
        Field::Email,
        Field::FirstName,
        Field::LastName,
        Field::FullName,
        Field::Title,
        Field::Department,
        Field::Location,
        Field::ManagerEmail,
        Field::EmployeeId,
        Field::Role,
        Field::StartDate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::Email => "email",
            Field::FirstName => "first_name",
            Field::LastName => "last_name",
            Field::FullName => "full_name",
            Field::Title => "title",
            Field::Department => "department",
            Field::Location => "location",
            Field::ManagerEmail => "manager_email",
            Field::EmployeeId => "employee_id",
            Field::Role => "role",
            Field::StartDate => "start_date",
        }
    }

    pub fn parse(text: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.as_str() == text)
    }

    /// Header spellings that mean this field, compared letters and digits only, lower-cased.
    fn synonyms(self) -> &'static [&'static str] {
        match self {
            Field::Email => &[
                "email",
                "emailaddress",
                "workemail",
                "workemailaddress",
                "businessemail",
                "mail",
                "corporateemail",
            ],
            Field::FirstName => &[
                "firstname",
                "givenname",
                "first",
                "forename",
                "preferredfirstname",
            ],
            Field::LastName => &["lastname", "surname", "familyname", "last"],
            Field::FullName => &[
                "fullname",
                "name",
                "displayname",
                "employeename",
                "preferredname",
            ],
            Field::Title => &[
                "title",
                "jobtitle",
                "position",
                "designation",
                "businesstitle",
            ],
            Field::Department => &["department", "dept", "team", "division", "businessunit"],
            Field::Location => &[
                "location",
                "office",
                "city",
                "site",
                "worklocation",
                "officelocation",
            ],
            Field::ManagerEmail => &[
                "manageremail",
                "manager",
                "manageremailaddress",
                "managerworkemail",
                "reportsto",
                "supervisoremail",
                "linemanageremail",
            ],
            Field::EmployeeId => &[
                "employeeid",
                "employeenumber",
                "empid",
                "employeeno",
                "staffid",
                "workerid",
                "personnelnumber",
                "id",
            ],
            Field::Role => &["role", "trellisrole", "accessrole", "approle"],
            Field::StartDate => &[
                "startdate",
                "hiredate",
                "datehired",
                "joiningdate",
                "joindate",
                "start",
            ],
        }
    }
}

fn squash(header: &str) -> String {
    header
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .flat_map(char::to_lowercase)
        .collect()
}

/// Field -> column index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mapping(pub BTreeMap<Field, usize>);

impl Mapping {
    /// The columns whose headers are a known spelling of a field (the first such column wins).
    pub fn detect(headers: &[String]) -> Mapping {
        let mut mapping = BTreeMap::new();
        for field in Field::ALL {
            if let Some(i) = headers
                .iter()
                .position(|h| field.synonyms().contains(&squash(h).as_str()))
            {
                mapping.insert(field, i);
            }
        }
        Mapping(mapping)
    }

    pub fn column(&self, field: Field) -> Option<usize> {
        self.0.get(&field).copied()
    }

    /// `{"email": "Work Email", ...}`: field -> header, as stored and shown.
    pub fn to_json(&self, headers: &[String]) -> Value {
        let mut out = Map::new();
        for (field, i) in &self.0 {
            if let Some(header) = headers.get(*i) {
                out.insert(field.as_str().into(), header.clone().into());
            }
        }
        Value::Object(out)
    }

    pub fn from_json(value: &Value, headers: &[String]) -> Result<Mapping, ApiError> {
        let Some(object) = value.as_object() else {
            return Err(ApiError::validation(
                "mapping",
                "must be an object of field -> column header",
            ));
        };
        let mut errors = Vec::new();
        let mut mapping = BTreeMap::new();
        for (key, header) in object {
            let Some(field) = Field::parse(key) else {
                errors.push(FieldError::new(
                    format!("mapping.{key}"),
                    format!(
                        "is not a field; the fields are {}",
                        Field::ALL.map(Field::as_str).join(", ")
                    ),
                ));
                continue;
            };
            match header {
                Value::Null => {}
                Value::String(name) => match headers.iter().position(|h| h == name) {
                    Some(i) => {
                        mapping.insert(field, i);
                    }
                    None => errors.push(FieldError::new(
                        format!("mapping.{key}"),
                        format!("the file has no column {name:?}"),
                    )),
                },
                _ => errors.push(FieldError::new(
                    format!("mapping.{key}"),
                    "must be a column header or null",
                )),
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        Ok(Mapping(mapping))
    }

    /// An import needs at least the address.
    pub fn check(&self) -> Result<(), ApiError> {
        if self.column(Field::Email).is_none() {
            return Err(ApiError::validation(
                "mapping.email",
                "no column gives the email address: name it in the mapping",
            ));
        }
        Ok(())
    }

    /// Columns the mapping leaves out.
    pub fn unmapped(&self, headers: &[String]) -> Vec<String> {
        headers
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.0.values().any(|c| c == i))
            .map(|(_, h)| h.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_headers_are_detected_whatever_their_spelling() {
        let headers: Vec<String> = [
            "E-mail",
            "First Name",
            "Surname",
            "Job Title",
            "Dept",
            "Office",
            "Manager Email",
            "Employee ID",
            "Role",
            "Hire Date",
            "Notes",
        ]
        .map(String::from)
        .to_vec();
        let mapping = Mapping::detect(&headers);
        assert_eq!(mapping.column(Field::Email), Some(0));
        assert_eq!(mapping.column(Field::LastName), Some(2));
        assert_eq!(mapping.column(Field::ManagerEmail), Some(6));
        assert_eq!(mapping.column(Field::StartDate), Some(9));
        assert_eq!(mapping.column(Field::FullName), None);
        assert_eq!(mapping.unmapped(&headers), vec!["Notes".to_owned()]);
        let json = mapping.to_json(&headers);
        assert_eq!(Mapping::from_json(&json, &headers).unwrap(), mapping);
    }

    #[test]
    fn a_mapping_names_known_fields_and_existing_columns() {
        let headers = vec!["mail".to_owned()];
        let bad = serde_json::json!({ "emial": "mail", "title": "Position" });
        let Err(ApiError::Validation(errors)) = Mapping::from_json(&bad, &headers) else {
            panic!("refused")
        };
        assert_eq!(errors.len(), 2);
        assert!(Mapping::default().check().is_err());
    }
}
